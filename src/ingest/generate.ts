// Seeded synthetic claim files for tests and benchmarks (deterministic per seed): X12 837P and
// 837I interchanges (several ISA/GS/ST per file, 1–40 claims per transaction, optional odd
// delimiters) and FHIR ExplanationOfBenefit NDJSON in Blue Button's shape. The mix is realistic
// rather than uniform: mostly eligible E/M and procedure codes with some ineligible lab, DME and
// drug codes, every type of bill family, dates mostly in the collection year, ~6% replacements
// and ~3% voids of earlier claims, 1–8 diagnoses (HCC codes, others, some dotted or lower-case).
import { closeSync, openSync, writeSync } from "node:fs";

const ELIGIBLE = [
  "99213",
  "99214",
  "99215",
  "99203",
  "99204",
  "99232",
  "99233",
  "99223",
  "G0439",
  "G0402",
  "99285",
  "99284",
  "27447",
  "99308",
  "99349",
];
const INELIGIBLE = ["36415", "J1745", "A0425", "81002", "71046", "80053", "85025", "93000", "E0601", "J3420", "99211", "97110"];
const TOB = [
  "11",
  "11",
  "11",
  "12",
  "13",
  "13",
  "13",
  "14",
  "18",
  "21",
  "22",
  "23",
  "32",
  "33",
  "34",
  "41",
  "43",
  "71",
  "72",
  "73",
  "74",
  "75",
  "76",
  "77",
  "81",
  "82",
  "83",
  "85",
  "85",
  "86",
  "87",
  "89",
];
const OTHER_DX = ["Z0000", "R05", "J069", "M545", "R51", "Z23", "K219", "E785", "I10", "Z794"];
const DELIMS: { element: string; component: string; segment: string; newline: boolean }[] = [
  { element: "*", component: ":", segment: "~", newline: true },
  { element: "*", component: ":", segment: "~", newline: false },
  { element: "|", component: "^", segment: "~", newline: true },
  { element: "+", component: ">", segment: "'", newline: false },
  { element: "*", component: "\\", segment: "\n", newline: false },
];

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateClaimsOptions {
  seed: number;
  /** The collection year most dates fall in. */
  year: number;
  members: number;
  /** HCC-mapped ICD-10 codes to draw from (e.g. data/py2026/V28/crosswalk.tsv's codes). */
  hccCodes: string[];
  /** Use odd delimiters in some interchanges (hccinfhir reads only '*' '~' ':'). */
  oddDelimiters?: boolean;
}

interface GenClaim {
  id: string;
  member: string;
  freq: string;
  ref: string | null;
  tob: string;
  from: string;
  to: string;
  dx: string[];
  lines: { code: string; date: string; pointers: number[]; rev: string }[];
  npi: string;
}

class Gen {
  readonly r: () => number;
  private n = 0;
  private readonly recent: { id: string; member: string }[] = [];
  constructor(private readonly o: GenerateClaimsOptions) {
    this.r = mulberry32(o.seed);
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)]!;
  }
  date(): string {
    const y = this.r() < 0.9 ? this.o.year : this.r() < 0.5 ? this.o.year - 1 : this.o.year + 1;
    const d = new Date(Date.UTC(y, 0, 1 + Math.floor(this.r() * 365)));
    return d.toISOString().slice(0, 10).replace(/-/g, "");
  }
  claim(institutional: boolean): GenClaim {
    const u = this.r();
    let freq = "1";
    let member = `M${String(1 + Math.floor(this.r() * this.o.members)).padStart(8, "0")}`;
    let id = `C${this.o.seed}X${++this.n}`;
    let ref: string | null = null;
    if (this.recent.length > 0 && u < 0.09) {
      const prev = this.pick(this.recent);
      freq = u < 0.03 ? "8" : "7";
      member = prev.member;
      ref = prev.id;
      id = this.r() < 0.5 ? prev.id : `${prev.id}R`;
    } else {
      this.recent.push({ id, member });
      if (this.recent.length > 500) this.recent.splice(0, 250);
    }
    const ndx = 1 + Math.floor(this.r() * 8);
    const dx: string[] = [];
    for (let i = 0; i < ndx; i++) {
      let c = this.r() < 0.55 ? this.pick(this.o.hccCodes) : this.pick(OTHER_DX);
      if (this.r() < 0.1 && c.length > 3) c = `${c.slice(0, 3)}.${c.slice(3)}`;
      if (this.r() < 0.03) c = c.toLowerCase();
      if (!dx.includes(c)) dx.push(c);
    }
    const from = this.date();
    const nl = 1 + Math.floor(this.r() * 4);
    const lines = [];
    for (let i = 0; i < nl; i++) {
      const eligible = this.r() < (institutional ? 0.5 : 0.7);
      lines.push({
        code: eligible ? this.pick(ELIGIBLE) : this.r() < 0.2 && institutional ? "" : this.pick(INELIGIBLE),
        date: from,
        pointers: [1 + Math.floor(this.r() * dx.length)],
        rev: this.pick(["0450", "0300", "0250", "0510", "0120"]),
      });
    }
    return {
      id,
      member,
      freq,
      ref,
      tob: this.pick(TOB),
      from,
      to: from,
      dx,
      lines,
      npi: String(1000000000 + Math.floor(this.r() * 8999999999)),
    };
  }
}

class Out {
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, "w");
  }
  w(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    const s = this.parts.join("");
    this.bytes += Buffer.byteLength(s);
    writeSync(this.fd, s);
    this.parts = [];
    this.size = 0;
  }
  close(): number {
    this.flush();
    closeSync(this.fd);
    return this.bytes;
  }
}

/** Write an 837P or 837I file of about `targetBytes`; returns claims written. */
export function writeX12Claims(
  path: string,
  kind: "837P" | "837I",
  targetBytes: number,
  o: GenerateClaimsOptions,
): { claims: number; bytes: number } {
  const g = new Gen(o);
  const out = new Out(path);
  let claims = 0;
  let isa = 0;
  const impl = kind === "837P" ? "005010X222A1" : "005010X223A2";
  while (out.bytes + 0 < targetBytes) {
    const d = o.oddDelimiters ? g.pick(DELIMS) : DELIMS[g.r() < 0.5 ? 0 : 1]!;
    const E = d.element;
    const C = d.component;
    const T = d.segment + (d.newline ? "\n" : "");
    const seg = (...el: string[]): string => el.join(E) + T;
    isa++;
    const ctl = String(isa).padStart(9, "0");
    let body = "";
    body += `ISA${E}00${E}          ${E}00${E}          ${E}ZZ${E}SUBMITTER      ${E}ZZ${E}RECEIVER       ${E}250101${E}1200${E}^${E}00501${E}${ctl}${E}0${E}P${E}${C}${T}`;
    const groups = 1 + Math.floor(g.r() * 2);
    for (let gi = 1; gi <= groups; gi++) {
      body += seg("GS", "HC", "SUBMITTER", "RECEIVER", "20250101", "1200", String(gi), "X", impl);
      const txs = 1 + Math.floor(g.r() * 5);
      for (let t = 1; t <= txs; t++) {
        const st = String(t).padStart(4, "0");
        const segs: string[] = [
          seg("ST", "837", st, impl),
          seg("BHT", "0019", "00", "B1", "20250101", "1200", "CH"),
          seg("NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "S1"),
        ];
        let hl = 0;
        const nclaims = 1 + Math.floor(g.r() * 40);
        for (let k = 0; k < nclaims; k++) {
          const c = g.claim(kind === "837I");
          const bp = ++hl;
          segs.push(seg("HL", String(bp), "", "20", "1"), seg("NM1", "85", "2", "PROVIDER", "", "", "", "", "XX", c.npi));
          segs.push(seg("HL", String(++hl), String(bp), "22", "0"), seg("SBR", "P", "18", "", "", "", "", "", "", "MA"));
          segs.push(seg("NM1", "IL", "1", "DOE", "J", "", "", "", "MI", c.member), seg("DMG", "D8", "19500101", "F"));
          const clm05 = kind === "837I" ? `${c.tob}${C}A${C}${c.freq}` : `11${C}B${C}${c.freq}`;
          segs.push(seg("CLM", c.id, "100", "", "", clm05, "Y", "A", "Y", "Y"));
          if (kind === "837I") segs.push(seg("DTP", "434", "RD8", `${c.from}-${c.to}`));
          if (c.ref) segs.push(seg("REF", "F8", c.ref));
          const his = c.dx.map((x, i) => `${kind === "837I" ? (i === 0 ? "ABK" : "ABF") : i === 0 ? "ABK" : "ABF"}${C}${x}`);
          segs.push(seg("HI", ...his.slice(0, 12)));
          if (kind === "837P") segs.push(seg("NM1", "82", "1", "DOC", "A", "", "", "", "XX", c.npi));
          c.lines.forEach((l, i) => {
            segs.push(seg("LX", String(i + 1)));
            if (kind === "837P") segs.push(seg("SV1", `HC${C}${l.code}`, "50", "UN", "1", "", "", l.pointers.join(C)));
            else segs.push(seg("SV2", l.rev, l.code ? `HC${C}${l.code}` : "", "50", "UN", "1"));
            segs.push(seg("DTP", "472", "D8", l.date));
          });
          claims++;
        }
        segs.push(seg("SE", String(segs.length + 1), st));
        body += segs.join("");
      }
      body += seg("GE", String(txs), String(gi));
    }
    body += seg("IEA", String(groups), ctl);
    out.w(body);
  }
  return { claims, bytes: out.close() };
}

/** Write FHIR EOB NDJSON of about `targetBytes`. */
export function writeEobNdjson(path: string, targetBytes: number, o: GenerateClaimsOptions): { claims: number; bytes: number } {
  const g = new Gen(o);
  const out = new Out(path);
  let claims = 0;
  const BB = "https://bluebutton.cms.gov/resources/variables/";
  const iso = (d: string): string => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  while (out.bytes < targetBytes) {
    for (let k = 0; k < 1000; k++) {
      const inst = g.r() < 0.3;
      const c = g.claim(inst);
      const pharmacy = !inst && g.r() < 0.08;
      const type: Record<string, unknown>[] = pharmacy
        ? [{ system: "http://terminology.hl7.org/CodeSystem/claim-type", code: "pharmacy" }]
        : inst
          ? [
              { system: `${BB}nch_clm_type_cd`, code: "40" },
              { system: "http://terminology.hl7.org/CodeSystem/claim-type", code: "institutional" },
              { system: `${BB}clm_srvc_clsfctn_type_cd`, code: c.tob.charAt(1) },
            ]
          : [
              { system: `${BB}nch_clm_type_cd`, code: "71" },
              { system: "http://terminology.hl7.org/CodeSystem/claim-type", code: "professional" },
            ];
      const eob: Record<string, unknown> = {
        resourceType: "ExplanationOfBenefit",
        id: c.freq === "1" ? c.id : `${c.id}V${claims}`,
        status: c.freq === "8" ? "cancelled" : "active",
        type: { coding: type },
        patient: { reference: `Patient/${c.member}` },
        billablePeriod: { start: iso(c.from), end: iso(c.to) },
        careTeam: [
          {
            sequence: 1,
            provider: { identifier: { system: "http://hl7.org/fhir/sid/us-npi", value: c.npi } },
            role: {
              coding: [{ system: "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole", code: "performing" }],
            },
          },
        ],
        diagnosis: c.dx.map((x, i) => ({
          sequence: i + 1,
          diagnosisCodeableConcept: { coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code: x }] },
        })),
        item: pharmacy
          ? []
          : c.lines.map((l, i) => ({
              sequence: i + 1,
              diagnosisSequence: l.pointers,
              ...(l.code
                ? {
                    productOrService: {
                      coding: [{ system: "https://bluebutton.cms.gov/resources/codesystem/hcpcs", code: l.code }],
                    },
                  }
                : {}),
              servicedPeriod: { start: iso(l.date), end: iso(l.date) },
            })),
        ...(inst
          ? {
              facility: {
                extension: [
                  { url: `${BB}clm_fac_type_cd`, valueCoding: { system: `${BB}clm_fac_type_cd`, code: c.tob.charAt(0) } },
                ],
              },
            }
          : {}),
      };
      out.w(JSON.stringify(eob) + "\n");
      claims++;
    }
  }
  return { claims, bytes: out.close() };
}

/** An 834 with one INS loop per member M00000001…: birth date, sex, coverage; some Medicaid and dual codes. */
export function writeX12Enrollment(path: string, o: GenerateClaimsOptions): number {
  const g = new Gen(o);
  const out = new Out(path);
  const seg = (...el: string[]): string => el.join("*") + "~\n";
  const segs: string[] = [seg("ST", "834", "0001", "005010X220A1"), seg("BGN", "00", "G1", "20250101", "1200", "", "", "", "2")];
  for (let i = 1; i <= o.members; i++) {
    const id = `M${String(i).padStart(8, "0")}`;
    const y = 1925 + Math.floor(g.r() * 70);
    const dob = `${y}${String(1 + Math.floor(g.r() * 12)).padStart(2, "0")}${String(1 + Math.floor(g.r() * 28)).padStart(2, "0")}`;
    segs.push(seg("INS", "Y", "18", "021", "28", "A", "", "", "AC"), seg("REF", "0F", id));
    if (g.r() < 0.2) segs.push(seg("REF", "F5", g.pick(["01", "02", "04", "08"])));
    segs.push(seg("NM1", "IL", "1", "DOE", "J", "", "", "", "34", id), seg("DMG", "D8", dob, g.r() < 0.55 ? "F" : "M"));
    segs.push(
      seg("HD", "021", "", "HLT", g.r() < 0.2 ? "MEDICARE ADVANTAGE D-SNP MEDICAID" : "MEDICARE ADVANTAGE"),
      seg("DTP", "348", "D8", `${o.year}0101`),
    );
  }
  segs.push(seg("SE", String(segs.length + 1), "0001"));
  out.w(
    `ISA*00*          *00*          *ZZ*PLAN           *ZZ*RECEIVER       *250101*1200*^*00501*000000001*0*P*:~\nGS*BE*PLAN*RECEIVER*20250101*1200*1*X*005010X220A1~\n`,
  );
  out.w(segs.join(""));
  out.w("GE*1*1~\nIEA*1*000000001~\n");
  out.close();
  return o.members;
}
