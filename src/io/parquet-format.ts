// Parquet's enums (parquet.thrift), shared by the writer of result parts (parquet-writer.ts) and
// the reader of exported member parts (parquet-reader.ts).

// Type
export const T_BOOLEAN = 0;
export const T_INT32 = 1;
export const T_INT64 = 2;
export const T_DOUBLE = 5;
export const T_BYTE_ARRAY = 6;
// FieldRepetitionType
export const REQUIRED = 0;
export const OPTIONAL = 1;
export const REPEATED = 2;
// ConvertedType
export const CT_UTF8 = 0;
export const CT_LIST = 3;
export const CT_DATE = 6;
export const CT_INT_32 = 17;
// Encoding
export const E_PLAIN = 0;
export const E_PLAIN_DICTIONARY = 2;
export const E_RLE = 3;
export const E_RLE_DICTIONARY = 8;
// PageType
export const PAGE_DATA = 0;
export const PAGE_DICTIONARY = 2;
