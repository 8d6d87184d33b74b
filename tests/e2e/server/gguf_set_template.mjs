// tests/e2e/server/gguf_set_template.mjs SRC DST TEMPLATE_TEXT
// Copy a GGUF file with tokenizer.chat_template set (every other key and all
// tensor data unchanged): the server tests need models whose chat format is
// found the way a real model's is. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
import { readFileSync, writeFileSync } from 'node:fs';

const [src, dst, tmpl] = process.argv.slice(2);
if (!src || !dst || tmpl === undefined) {
  console.error('usage: gguf_set_template.mjs SRC DST TEMPLATE');
  process.exit(2);
}
const b = readFileSync(src);
if (b.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${src}: not a GGUF file`);
const version = b.readUInt32LE(4);
if (version < 2) throw new Error('GGUF v1 is not supported');
const nTensors = b.readBigUInt64LE(8);
const nKv = Number(b.readBigUInt64LE(16));
const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
let off = 24;
const str = () => { const n = Number(b.readBigUInt64LE(off)); const s = b.toString('utf8', off + 8, off + 8 + n); off += 8 + n; return s; };
function skipValue(type) {
  if (type === 8) { str(); return; }
  if (type === 9) {
    const et = b.readUInt32LE(off); const n = Number(b.readBigUInt64LE(off + 4)); off += 12;
    if (et === 8) { for (let i = 0; i < n; i++) str(); } else off += n * SIZES[et];
    return;
  }
  if (!(type in SIZES)) throw new Error(`bad value type ${type}`);
  off += SIZES[type];
}
const kvs = [];
let alignment = 32;
for (let i = 0; i < nKv; i++) {
  const start = off;
  const key = str();
  const type = b.readUInt32LE(off); off += 4;
  if (key === 'general.alignment' && type === 4) alignment = b.readUInt32LE(off);
  skipValue(type);
  if (key !== 'tokenizer.chat_template') kvs.push(b.subarray(start, off));
}
const tiStart = off;
for (let i = 0n; i < nTensors; i++) { str(); const nd = b.readUInt32LE(off); off += 4 + 8 * nd + 4 + 8; }
const tiEnd = off;
const dataStart = Math.ceil(tiEnd / alignment) * alignment;

const u64 = (v) => { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(v)); return x; };
const u32 = (v) => { const x = Buffer.alloc(4); x.writeUInt32LE(v); return x; };
const gstr = (s) => { const x = Buffer.from(s, 'utf8'); return Buffer.concat([u64(x.length), x]); };
const head = Buffer.concat([b.subarray(0, 8), u64(nTensors), u64(kvs.length + 1), ...kvs,
  gstr('tokenizer.chat_template'), u32(8), gstr(tmpl), b.subarray(tiStart, tiEnd)]);
const pad = Buffer.alloc((alignment - (head.length % alignment)) % alignment);
writeFileSync(dst, Buffer.concat([head, pad, b.subarray(dataStart)]));
