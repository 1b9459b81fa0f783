// A local HTTP server speaking the slice of the Cloud Storage JSON API that @google-cloud/storage 7
// uses to deploy UDF libraries: objects.get (metadata, for File.exists), objects.insert as a
// multipart upload (uploadType=multipart, with ifGenerationMatch; md5Hash and crc32c returned
// so the client's upload validation runs), objects.delete and media download. The client
// reaches it through its standard STORAGE_EMULATOR_HOST variable, which replaces the API root
// (so object paths come without /storage/v1). Objects live in memory;
// every request is recorded. No resumable uploads, ACLs, IAM, versioning or listing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";

export interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  generation: number;
}

export interface GcsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

export class FakeGcsServer {
  readonly objects = new Map<string, StoredObject>();
  readonly requests: GcsRequest[] = [];
  readonly buckets = new Set<string>();
  private generation = 1;
  private readonly server: Server;

  constructor(buckets: string[]) {
    for (const b of buckets) this.buckets.add(b);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => json(res, 500, error(500, e instanceof Error ? e.message : String(e))));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  uploads(): GcsRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path.startsWith("/upload/"));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    this.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
    });
    const body = await readBody(req);
    let m: RegExpExecArray | null;
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname)) && req.method === "POST") {
      const bucket = decodeURIComponent(m[1] ?? "");
      if (!this.buckets.has(bucket)) return json(res, 404, error(404, `The specified bucket does not exist: ${bucket}`));
      if (url.searchParams.get("uploadType") !== "multipart")
        return json(res, 400, error(400, "only multipart uploads are emulated"));
      const [metaPart, dataPart] = parseMultipart(body, req.headers["content-type"] ?? "");
      const meta = JSON.parse((metaPart ?? Buffer.alloc(0)).toString("utf8")) as {
        name?: string;
        contentType?: string;
        metadata?: Record<string, string>;
      };
      const name = meta.name ?? url.searchParams.get("name") ?? "";
      const key = `${bucket}/${name}`;
      if (url.searchParams.get("ifGenerationMatch") === "0" && this.objects.has(key)) {
        return json(res, 412, error(412, "At least one of the pre-conditions you specified did not hold."));
      }
      const obj: StoredObject = {
        bucket,
        name,
        data: dataPart ?? Buffer.alloc(0),
        contentType: meta.contentType ?? "application/octet-stream",
        metadata: meta.metadata ?? {},
        generation: this.generation++,
      };
      this.objects.set(key, obj);
      return json(res, 200, resource(obj));
    }
    if ((m = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname))) {
      const key = `${decodeURIComponent(m[1] ?? "")}/${decodeURIComponent(m[2] ?? "")}`;
      const obj = this.objects.get(key);
      if (!obj) return json(res, 404, error(404, "No such object"));
      if (req.method === "DELETE") {
        this.objects.delete(key);
        res.writeHead(204).end();
        return;
      }
      if (req.method !== "GET") return json(res, 405, error(405, `${req.method ?? ""} on an object is not emulated`));
      if (url.searchParams.get("alt") === "media") {
        res.writeHead(200, { "content-type": obj.contentType, "content-length": obj.data.length }).end(obj.data);
        return;
      }
      return json(res, 200, resource(obj));
    }
    return json(res, 404, error(404, `fake GCS: ${req.method ?? ""} ${url.pathname} is not emulated`));
  }
}

function resource(o: StoredObject): Record<string, unknown> {
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    bucket: o.bucket,
    name: o.name,
    generation: String(o.generation),
    size: String(o.data.length),
    contentType: o.contentType,
    metadata: o.metadata,
    md5Hash: createHash("md5").update(o.data).digest("base64"),
    crc32c: crc32c(o.data),
  };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli), big-endian, base64: the JSON API's crc32c field. */
function crc32c(data: Buffer): string {
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

function error(code: number, message: string): Record<string, unknown> {
  return {
    error: { code, message, errors: [{ message, domain: "global", reason: code === 412 ? "conditionNotMet" : "notFound" }] },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(s) }).end(s);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Bodies of a multipart/related payload, in order. */
function parseMultipart(raw: Buffer, contentType: string): Buffer[] {
  const b = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!b) throw new Error("multipart without boundary");
  const text = raw.toString("latin1");
  return text
    .split(`--${b}`)
    .slice(1, -1)
    .map((part) => {
      const at = part.indexOf("\r\n\r\n");
      const content = part.slice(at + 4).replace(/\r\n$/, "");
      return Buffer.from(content, "latin1");
    });
}
