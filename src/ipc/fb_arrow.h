/* fb_arrow.h — Arrow IPC FlatBuffers constants: enum values, union tags and vtable slot indices
 * of the tables in format/Schema.fbs, Message.fbs and File.fbs. Shared by reader and writer.
 *
 * Slot numbers are field declaration order in the .fbs (a union field takes TWO slots: the
 * `<name>_type` ubyte tag first, then the value offset). The vtable byte offset of slot s is
 * 4 + 2*s. Struct layouts (Buffer, FieldNode, Block) are given as byte offsets and sizes.
 */
#ifndef QV_IPC_FB_ARROW_H
#define QV_IPC_FB_ARROW_H

/* ---- enums (underlying type in brackets) ------------------------------------------------ */

/* MetadataVersion [short] */
enum {
  QV_FB_METADATA_V1 = 0,
  QV_FB_METADATA_V2 = 1,
  QV_FB_METADATA_V3 = 2,
  QV_FB_METADATA_V4 = 3,
  QV_FB_METADATA_V5 = 4
};

/* Feature [long] (Schema.features) */
enum {
  QV_FB_FEATURE_UNUSED = 0,
  QV_FB_FEATURE_DICTIONARY_REPLACEMENT = 1,
  QV_FB_FEATURE_COMPRESSED_BODY = 2
};

/* MessageHeader union [ubyte] */
enum {
  QV_FB_HEADER_NONE = 0,
  QV_FB_HEADER_SCHEMA = 1,
  QV_FB_HEADER_DICTIONARY_BATCH = 2,
  QV_FB_HEADER_RECORD_BATCH = 3,
  QV_FB_HEADER_TENSOR = 4,
  QV_FB_HEADER_SPARSE_TENSOR = 5
};

/* Type union [ubyte] */
enum {
  QV_FB_TYPE_NONE = 0,
  QV_FB_TYPE_NULL = 1,
  QV_FB_TYPE_INT = 2,
  QV_FB_TYPE_FLOATING_POINT = 3,
  QV_FB_TYPE_BINARY = 4,
  QV_FB_TYPE_UTF8 = 5,
  QV_FB_TYPE_BOOL = 6,
  QV_FB_TYPE_DECIMAL = 7,
  QV_FB_TYPE_DATE = 8,
  QV_FB_TYPE_TIME = 9,
  QV_FB_TYPE_TIMESTAMP = 10,
  QV_FB_TYPE_INTERVAL = 11,
  QV_FB_TYPE_LIST = 12,
  QV_FB_TYPE_STRUCT = 13,
  QV_FB_TYPE_UNION = 14,
  QV_FB_TYPE_FIXED_SIZE_BINARY = 15,
  QV_FB_TYPE_FIXED_SIZE_LIST = 16,
  QV_FB_TYPE_MAP = 17,
  QV_FB_TYPE_DURATION = 18,
  QV_FB_TYPE_LARGE_BINARY = 19,
  QV_FB_TYPE_LARGE_UTF8 = 20,
  QV_FB_TYPE_LARGE_LIST = 21,
  QV_FB_TYPE_RUN_END_ENCODED = 22,
  QV_FB_TYPE_BINARY_VIEW = 23,
  QV_FB_TYPE_UTF8_VIEW = 24,
  QV_FB_TYPE_LIST_VIEW = 25,
  QV_FB_TYPE_LARGE_LIST_VIEW = 26,
  QV_FB_TYPE_MAX = 26
};

/* Precision [short] (FloatingPoint.precision) */
enum { QV_FB_PRECISION_HALF = 0, QV_FB_PRECISION_SINGLE = 1, QV_FB_PRECISION_DOUBLE = 2 };
/* DateUnit [short] */
enum { QV_FB_DATE_DAY = 0, QV_FB_DATE_MILLISECOND = 1 };
/* TimeUnit [short] */
enum {
  QV_FB_TIME_SECOND = 0,
  QV_FB_TIME_MILLISECOND = 1,
  QV_FB_TIME_MICROSECOND = 2,
  QV_FB_TIME_NANOSECOND = 3
};
/* IntervalUnit [short] */
enum {
  QV_FB_INTERVAL_YEAR_MONTH = 0,
  QV_FB_INTERVAL_DAY_TIME = 1,
  QV_FB_INTERVAL_MONTH_DAY_NANO = 2
};
/* UnionMode [short] */
enum { QV_FB_UNION_SPARSE = 0, QV_FB_UNION_DENSE = 1 };
/* Endianness [short] */
enum { QV_FB_ENDIAN_LITTLE = 0, QV_FB_ENDIAN_BIG = 1 };
/* DictionaryKind [short] */
enum { QV_FB_DICT_KIND_DENSE_ARRAY = 0 };
/* CompressionType [byte] */
enum { QV_FB_COMPRESSION_LZ4_FRAME = 0, QV_FB_COMPRESSION_ZSTD = 1 };
/* BodyCompressionMethod [byte] */
enum { QV_FB_BODY_COMPRESSION_BUFFER = 0 };

/* ---- vtable slots ------------------------------------------------------------------------- */

/* File.fbs: table Footer (root of the file footer) */
enum {
  QV_FB_FOOTER_VERSION = 0,         /* MetadataVersion [short], default V1 */
  QV_FB_FOOTER_SCHEMA = 1,          /* Schema */
  QV_FB_FOOTER_DICTIONARIES = 2,    /* [Block] */
  QV_FB_FOOTER_RECORD_BATCHES = 3,  /* [Block] */
  QV_FB_FOOTER_CUSTOM_METADATA = 4  /* [KeyValue] */
};
/* File.fbs: struct Block { offset: long; metaDataLength: int; (4 pad) bodyLength: long; } */
enum {
  QV_FB_BLOCK_OFFSET = 0,           /* byte offset of int64 */
  QV_FB_BLOCK_META_DATA_LENGTH = 8, /* byte offset of int32 */
  QV_FB_BLOCK_BODY_LENGTH = 16,     /* byte offset of int64 */
  QV_FB_BLOCK_SIZE = 24,
  QV_FB_BLOCK_ALIGN = 8
};

/* Message.fbs: table Message (root of every encapsulated message) */
enum {
  QV_FB_MESSAGE_VERSION = 0,        /* MetadataVersion [short], default V1 */
  QV_FB_MESSAGE_HEADER_TYPE = 1,    /* MessageHeader tag [ubyte] */
  QV_FB_MESSAGE_HEADER = 2,         /* union value */
  QV_FB_MESSAGE_BODY_LENGTH = 3,    /* long */
  QV_FB_MESSAGE_CUSTOM_METADATA = 4 /* [KeyValue] */
};

/* Schema.fbs: table Schema */
enum {
  QV_FB_SCHEMA_ENDIANNESS = 0,      /* Endianness [short], default Little */
  QV_FB_SCHEMA_FIELDS = 1,          /* [Field] */
  QV_FB_SCHEMA_CUSTOM_METADATA = 2, /* [KeyValue] */
  QV_FB_SCHEMA_FEATURES = 3         /* [Feature] (long) */
};

/* table Field */
enum {
  QV_FB_FIELD_NAME = 0,             /* string */
  QV_FB_FIELD_NULLABLE = 1,         /* bool, default false */
  QV_FB_FIELD_TYPE_TYPE = 2,        /* Type tag [ubyte] */
  QV_FB_FIELD_TYPE = 3,             /* union value */
  QV_FB_FIELD_DICTIONARY = 4,       /* DictionaryEncoding */
  QV_FB_FIELD_CHILDREN = 5,         /* [Field] */
  QV_FB_FIELD_CUSTOM_METADATA = 6   /* [KeyValue] */
};

/* table KeyValue */
enum { QV_FB_KEYVALUE_KEY = 0, QV_FB_KEYVALUE_VALUE = 1 };

/* table DictionaryEncoding */
enum {
  QV_FB_DICTENC_ID = 0,             /* long, default 0 */
  QV_FB_DICTENC_INDEX_TYPE = 1,     /* Int (absent: signed int32) */
  QV_FB_DICTENC_IS_ORDERED = 2,     /* bool, default false */
  QV_FB_DICTENC_KIND = 3            /* DictionaryKind [short] */
};

/* Type tables. Empty tables (Null, Struct_, List, LargeList, Utf8, Binary, LargeUtf8,
 * LargeBinary, Bool, RunEndEncoded, BinaryView, Utf8View, ListView, LargeListView) have no
 * slots. */
enum { QV_FB_INT_BIT_WIDTH = 0, QV_FB_INT_IS_SIGNED = 1 };           /* int, bool */
enum { QV_FB_FLOATINGPOINT_PRECISION = 0 };                          /* Precision, default HALF */
enum {
  QV_FB_DECIMAL_PRECISION = 0,      /* int */
  QV_FB_DECIMAL_SCALE = 1,          /* int */
  QV_FB_DECIMAL_BIT_WIDTH = 2       /* int, default 128 (32, 64, 128, 256) */
};
enum { QV_FB_DATE_UNIT = 0 };                                        /* DateUnit, default MILLISECOND */
enum { QV_FB_TIME_UNIT = 0, QV_FB_TIME_BIT_WIDTH = 1 };              /* default MILLISECOND, 32 */
enum { QV_FB_TIMESTAMP_UNIT = 0, QV_FB_TIMESTAMP_TIMEZONE = 1 };     /* default SECOND; string */
enum { QV_FB_DURATION_UNIT = 0 };                                    /* default MILLISECOND */
enum { QV_FB_INTERVAL_UNIT = 0 };                                    /* default YEAR_MONTH */
enum { QV_FB_FIXEDSIZEBINARY_BYTE_WIDTH = 0 };                       /* int */
enum { QV_FB_FIXEDSIZELIST_LIST_SIZE = 0 };                          /* int */
enum { QV_FB_MAP_KEYS_SORTED = 0 };                                  /* bool */
enum { QV_FB_UNION_MODE = 0, QV_FB_UNION_TYPE_IDS = 1 };             /* UnionMode; [int] */

/* Message.fbs: table RecordBatch */
enum {
  QV_FB_RECORDBATCH_LENGTH = 0,               /* long */
  QV_FB_RECORDBATCH_NODES = 1,                /* [FieldNode] (struct vector) */
  QV_FB_RECORDBATCH_BUFFERS = 2,              /* [Buffer] (struct vector) */
  QV_FB_RECORDBATCH_COMPRESSION = 3,          /* BodyCompression */
  QV_FB_RECORDBATCH_VARIADIC_BUFFER_COUNTS = 4 /* [long] */
};
/* struct FieldNode { length: long; null_count: long; } */
enum { QV_FB_FIELDNODE_LENGTH = 0, QV_FB_FIELDNODE_NULL_COUNT = 8, QV_FB_FIELDNODE_SIZE = 16 };
/* struct Buffer { offset: long; length: long; } */
enum { QV_FB_BUFFER_OFFSET = 0, QV_FB_BUFFER_LENGTH = 8, QV_FB_BUFFER_SIZE = 16 };
/* table BodyCompression */
enum {
  QV_FB_BODYCOMPRESSION_CODEC = 0,  /* CompressionType [byte], default LZ4_FRAME */
  QV_FB_BODYCOMPRESSION_METHOD = 1  /* BodyCompressionMethod [byte], default BUFFER */
};
/* table DictionaryBatch */
enum {
  QV_FB_DICTBATCH_ID = 0,           /* long */
  QV_FB_DICTBATCH_DATA = 1,         /* RecordBatch */
  QV_FB_DICTBATCH_IS_DELTA = 2      /* bool, default false */
};

/* ---- framing ------------------------------------------------------------------------------ */

#define QV_IPC_CONTINUATION 0xFFFFFFFFu   /* marker before the metadata length (since 0.15) */
#define QV_IPC_MAGIC "ARROW1"             /* file magic at start (padded to 8) and end */
#define QV_IPC_MAGIC_LEN 6
/* Compressed buffer prefix: int64 LE uncompressed length; -1 means the rest is stored raw. */
#define QV_IPC_UNCOMPRESSED_MARKER (-1)

#endif
