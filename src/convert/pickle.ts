/**
 * A small pickle virtual machine for torch's data.pkl: enough opcodes
 * (protocols 2–5) to rebuild a state dict of tensor references, without
 * executing anything. Globals are recorded by name and only a few known
 * constructors are interpreted; everything else stays an inert PyCall.
 */
import { NotACheckpointError } from './errors.ts';

export interface PyGlobal { kind: 'global'; module: string; name: string }
export interface PyCall { kind: 'call'; func: PyGlobal; args: PyValue[]; state?: PyValue }
export interface PyPersistent { kind: 'persistent'; id: PyValue }
export type PyValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PyValue[] | Map<PyValue, PyValue> | PyGlobal | PyCall | PyPersistent;

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

const isGlobal = (v: PyValue, module: string, name: string) =>
  typeof v === 'object' && v !== null && (v as PyGlobal).kind === 'global' && (v as PyGlobal).module === module && (v as PyGlobal).name === name;

/** Parses a pickle into plain values. `where` names the file for errors. */
export function unpickle(data: Uint8Array, where = 'data.pkl'): PyValue {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder();
  const stack: Slot[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;
  const fail = (msg: string): never => { throw new NotACheckpointError(`${where}: ${msg} (at byte ${p})`); };
  const need = (n: number) => { if (p + n > data.length) fail('pickle ends unexpectedly'); };
  const u8 = () => { need(1); return data[p++]; };
  const u16 = () => { need(2); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
  const bytes = (n: number) => { need(n); const b = data.subarray(p, p + n); p += n; return b; };
  const line = () => { const e = data.indexOf(10, p); if (e < 0) fail('unterminated line'); const s = dec.decode(data.subarray(p, e)); p = e + 1; return s; };
  const pop = (): PyValue => { const v = stack.pop(); if (v === undefined || v === MARK) fail('stack underflow'); return v as PyValue; };
  const top = (): PyValue => { const v = stack[stack.length - 1]; if (v === undefined || v === MARK) fail('stack underflow'); return v as PyValue; };
  const popMark = (): PyValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail('no MARK on the stack');
    const items = stack.splice(i) as Slot[];
    return items.slice(1) as PyValue[];
  };
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: PyValue, kv: PyValue[]) => {
    if (!(d instanceof Map)) fail('SETITEM on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<PyValue, PyValue>).set(kv[i], kv[i + 1]);
  };
  const call = (func: PyValue, args: PyValue): PyValue => {
    if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
    if (isGlobal(func, 'collections', 'OrderedDict') || isGlobal(func, 'builtins', 'dict')) return new Map();
    if (typeof func !== 'object' || func === null || (func as PyGlobal).kind !== 'global') fail('REDUCE on a non-global callable');
    return { kind: 'call', func: func as PyGlobal, args: args as PyValue[] };
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME (framing is only a read-ahead hint)
      case 0x2e: { const v = pop(); if (stack.length) fail('stack not empty at STOP'); return v; } // '.'
      case 0x28: stack.push(MARK); break; // '('
      case 0x7d: stack.push(new Map()); break; // '}'
      case 0x5d: stack.push([]); break; // ']'
      case 0x29: stack.push([]); break; // ')'
      case 0x74: stack.push(popMark()); break; // 't'
      case 0x85: stack.push([pop()]); break;
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; }
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; }
      case 0x6c: stack.push(popMark()); break; // 'l' LIST
      case 0x64: { const kv = popMark(); const d = new Map(); setItems(d, kv); stack.push(d); break; } // 'd' DICT
      case 0x71: memo.set(u8(), top()); break; // 'q' BINPUT
      case 0x72: memo.set(u32(), top()); break; // 'r' LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: { const k = u8(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)!); break; }
      case 0x6a: { const k = u32(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)!); break; }
      case 0x58: stack.push(dec.decode(bytes(u32()))); break; // 'X' BINUNICODE
      case 0x8c: stack.push(dec.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(dv.getBigUint64(p, true)); p += 8; stack.push(dec.decode(bytes(n))); break; }
      case 0x55: stack.push(dec.decode(bytes(u8()))); break; // 'U' SHORT_BINSTRING
      case 0x54: stack.push(dec.decode(bytes(u32()))); break; // 'T' BINSTRING
      case 0x43: stack.push(bytes(u8()).slice()); break; // 'C' SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32()).slice()); break; // 'B' BINBYTES
      case 0x63: { const module = line(); const name = line(); stack.push({ kind: 'global', module, name }); break; } // 'c'
      case 0x93: { const name = pop(), module = pop(); stack.push({ kind: 'global', module: String(module), name: String(name) }); break; }
      case 0x51: stack.push({ kind: 'persistent', id: pop() }); break; // 'Q' BINPERSID
      case 0x4b: stack.push(u8()); break; // 'K'
      case 0x4d: stack.push(u16()); break; // 'M'
      case 0x4a: { need(4); stack.push(dv.getInt32(p, true)); p += 4; break; } // 'J'
      case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(long(bytes(u32()))); break; // LONG4
      case 0x47: { need(8); stack.push(dv.getFloat64(p, false)); p += 8; break; } // 'G' BINFLOAT (big-endian)
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break; // 'N'
      case 0x52: { const args = pop(), func = pop(); stack.push(call(func, args)); break; } // 'R'
      case 0x81: { const args = pop(), cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // 's'
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // 'u'
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail('APPEND on a non-list'); (l as PyValue[]).push(v); break; }
      case 0x65: { const vs = popMark(); const l = top(); if (!Array.isArray(l)) fail('APPENDS on a non-list'); (l as PyValue[]).push(...vs); break; }
      case 0x62: { // 'b' BUILD: state dicts carry _metadata here; keep it on calls, ignore on dicts
        const state = pop();
        const obj = top();
        if (obj && typeof obj === 'object' && (obj as PyCall).kind === 'call') (obj as PyCall).state = state;
        break;
      }
      default: fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}

/** Writes the subset torch uses for a flat state dict (protocol 2, like torch.save). */
export class PickleWriter {
  private parts: number[] = [];
  private enc = new TextEncoder();
  constructor() { this.parts.push(0x80, 2); }
  op(...codes: number[]) { this.parts.push(...codes); return this; }
  mark() { return this.op(0x28); }
  str(s: string) {
    const b = this.enc.encode(s);
    this.op(0x58, ...u32le(b.length));
    for (const x of b) this.parts.push(x);
    return this;
  }
  int(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`PickleWriter.int: ${n}`);
    if (n < 256) return this.op(0x4b, n);
    if (n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    if (n < 2 ** 31) return this.op(0x4a, ...u32le(n));
    const b: number[] = [];
    let v = BigInt(n);
    while (v > 0n) { b.push(Number(v & 0xffn)); v >>= 8n; }
    if (b[b.length - 1] & 0x80) b.push(0);
    return this.op(0x8a, b.length, ...b);
  }
  global(module: string, name: string) {
    const b = this.enc.encode(`${module}\n${name}\n`);
    this.op(0x63);
    for (const x of b) this.parts.push(x);
    return this;
  }
  tuple(items: number[]) {
    this.mark();
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  bytes() { this.op(0x2e); return new Uint8Array(this.parts); }
}

function u32le(n: number) { return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]; }
