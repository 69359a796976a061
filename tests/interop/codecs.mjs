// codecs.mjs — body-compression codecs for apache-arrow (JavaScript), which ships none and takes
// them through compressionRegistry. Written here from the LZ4 frame / block and Zstandard frame
// format specifications, so that the JS peer is an independent producer and consumer:
//   LZ4_FRAME: decode (full) and encode (a small greedy block compressor, independent blocks);
//   ZSTD: encode only, as Raw_Block frames (valid Zstandard, stored not compressed; since that is
//   never smaller, apache-arrow then writes the buffer with the "uncompressed" -1 length marker).
//   Decoding ZSTD needs a real Zstandard decoder, which Node 20 does not have: reading a
//   ZSTD-compressed file fails in the JS peer with "codec not found".
import { compressionRegistry, CompressionType } from 'apache-arrow';

const LZ4_MAGIC = 0x184d2204;
const ZSTD_MAGIC = 0xfd2fb528;
const LZ4_BLOCK_MAX = 4 << 20; // BD = 0x70

function concat(parts, total) {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function lz4DecodeBlock(src, s, e, out) {
  let o = 0;
  while (s < e) {
    const token = src[s++];
    let lit = token >> 4;
    if (lit === 15) {
      let b;
      do { b = src[s++]; lit += b; } while (b === 255 && s < e);
    }
    if (s + lit > e || o + lit > out.length) throw new Error('lz4: literal run beyond block');
    out.set(src.subarray(s, s + lit), o);
    s += lit;
    o += lit;
    if (s >= e) break;
    const off = src[s] | (src[s + 1] << 8);
    s += 2;
    let ml = token & 15;
    if (ml === 15) {
      let b;
      do { b = src[s++]; ml += b; } while (b === 255 && s < e);
    }
    ml += 4;
    if (off === 0 || off > o || o + ml > out.length) throw new Error('lz4: bad match');
    for (let k = 0; k < ml; k++) out[o + k] = out[o - off + k];
    o += ml;
  }
  return out.subarray(0, o);
}

export function lz4FrameDecode(src) {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || dv.getUint32(0, true) !== LZ4_MAGIC) throw new Error('lz4: not an LZ4 frame');
  const flg = src[4], bd = src[5];
  if ((flg >> 6) !== 1) throw new Error('lz4: unsupported frame version');
  const blockMax = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(bd >> 4) & 7];
  if (!blockMax) throw new Error('lz4: bad block maximum size');
  let s = 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
  const parts = [];
  let total = 0;
  const scratch = new Uint8Array(blockMax);
  for (;;) {
    if (s + 4 > src.length) throw new Error('lz4: truncated frame');
    const word = dv.getUint32(s, true);
    s += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (s + size > src.length) throw new Error('lz4: truncated block');
    const block = word & 0x80000000 ? src.slice(s, s + size) : lz4DecodeBlock(src, s, s + size, scratch).slice();
    parts.push(block);
    total += block.length;
    s += size + (flg & 0x10 ? 4 : 0);
  }
  return concat(parts, total);
}

function pushLength(out, n) {
  while (n >= 255) {
    out.push(255);
    n -= 255;
  }
  out.push(n);
}

function lz4EncodeBlock(src) {
  const n = src.length;
  const out = [];
  const table = new Int32Array(1 << 16).fill(-1);
  const read32 = (p) => (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;
  const emit = (anchor, end, off, ml) => {
    const lit = end - anchor;
    const m = ml ? ml - 4 : 0;
    out.push((Math.min(lit, 15) << 4) | Math.min(m, 15));
    if (lit >= 15) pushLength(out, lit - 15);
    for (let k = anchor; k < end; k++) out.push(src[k]);
    if (!ml) return;
    out.push(off & 255, off >> 8);
    if (m >= 15) pushLength(out, m - 15);
  };
  let anchor = 0;
  let i = 0;
  const lastMatchStart = n - 12; // spec: the last match starts at least 12 bytes before the end
  while (i < lastMatchStart) {
    const seq = read32(i);
    const h = Math.imul(seq, 2654435761) >>> 16;
    const ref = table[h];
    table[h] = i;
    if (ref >= 0 && i - ref <= 65535 && read32(ref) === seq) {
      let len = 4;
      while (i + len < n - 5 && src[ref + len] === src[i + len]) len++;
      emit(anchor, i, i - ref, len);
      i += len;
      anchor = i;
    } else {
      i++;
    }
  }
  emit(anchor, n, 0, 0);
  return Uint8Array.from(out);
}

export function lz4FrameEncode(src) {
  const parts = [Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 115)]; // FLG 0x60, BD 0x70, HC
  let total = 7;
  for (let p = 0; p < src.length; p += LZ4_BLOCK_MAX) {
    const chunk = src.subarray(p, Math.min(src.length, p + LZ4_BLOCK_MAX));
    let body = lz4EncodeBlock(chunk);
    let word = body.length;
    if (body.length >= chunk.length) {
      body = chunk;
      word = (chunk.length | 0x80000000) >>> 0;
    }
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, word, true);
    parts.push(hdr, body);
    total += 4 + body.length;
  }
  parts.push(new Uint8Array(4)); // end mark
  return concat(parts, total + 4);
}

export function zstdRawEncode(src) {
  const hdr = new Uint8Array(13);
  const dv = new DataView(hdr.buffer);
  dv.setUint32(0, ZSTD_MAGIC, true);
  hdr[4] = 0xe0; // FCS field 8 bytes, single segment, no checksum, no dictionary
  dv.setBigUint64(5, BigInt(src.length), true);
  const parts = [hdr];
  let total = 13;
  const max = 128 << 10;
  let p = 0;
  do {
    const size = Math.min(max, src.length - p);
    const last = p + size >= src.length ? 1 : 0;
    const bh = (size << 3) | last; // Block_Type 0 = Raw_Block
    parts.push(Uint8Array.of(bh & 255, (bh >> 8) & 255, (bh >> 16) & 255), src.subarray(p, p + size));
    total += 3 + size;
    p += size;
  } while (p < src.length);
  return concat(parts, total);
}

export function registerCodecs() {
  compressionRegistry.set(CompressionType.LZ4_FRAME, { encode: lz4FrameEncode, decode: lz4FrameDecode });
  compressionRegistry.set(CompressionType.ZSTD, { encode: zstdRawEncode });
}
