import { describe, expect, it } from 'vitest';
import { NotACheckpointError } from './errors.ts';
import { PickleWriter, unpickle, type PyCall } from './pickle.ts';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

// Made by CPython 3.11: pickle.dumps(OrderedDict([('k', OrderedDict(a=1, b=[1, 2, (3, 'x')], c=-5,
//   d=2**40, e=1.5, f=None, g=True, h=b'\x01\x02', i=-(2**70)))]), protocol=N)
const P4 = '8004958c000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b946802295294288c0161944b018c0162945d94284b014b024b038c0178948694658c0163944afbffffff8c0164948a060000000000018c016594473ff80000000000008c0166944e8c016794888c01689443020102948c0169948a090000000000000000c075732e';
const P2 = '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006b71026800295271032858010000006171044b0158010000006271055d7106284b014b024b0358010000007871078671086558010000006371094afbffffff580100000064710a8a06000000000001580100000065710b473ff8000000000000580100000066710c4e580100000067710d88580100000068710e635f636f646563730a656e636f64650a710f58020000000102711058060000006c6174696e31711186711252711358010000006971148a090000000000000000c075732e';

describe('pickle VM', () => {
  for (const [proto, data] of [['4 (FRAME, MEMOIZE, STACK_GLOBAL)', P4], ['2 (GLOBAL, BINPUT)', P2]]) {
    it(`reads Python's protocol ${proto}`, () => {
      const top = unpickle(hex(data)) as Map<string, unknown>;
      const d = top.get('k') as Map<string, unknown>;
      expect(d.get('a')).toBe(1);
      expect(d.get('b')).toEqual([1, 2, [3, 'x']]);
      expect(d.get('c')).toBe(-5);
      expect(d.get('d')).toBe(2 ** 40);
      expect(d.get('e')).toBe(1.5);
      expect(d.get('f')).toBeNull();
      expect(d.get('g')).toBe(true);
      expect(d.get('i')).toBe(-(2n ** 70n));
      const h = d.get('h');
      if (h instanceof Uint8Array) expect([...h]).toEqual([1, 2]);
      else expect((h as PyCall).func).toEqual({ kind: 'global', module: '_codecs', name: 'encode' }); // protocol 2 bytes: inert call
    });
  }

  it('round-trips what the checkpoint writer emits', () => {
    const w = new PickleWriter();
    w.op(0x7d).mark().str('key').global('torch._utils', '_rebuild_tensor_v2').mark().int(70000).int(2 ** 33).tuple([3, 4]).op(0x89, 0x74, 0x52).op(0x75);
    const top = unpickle(w.bytes()) as Map<string, PyCall>;
    const call = top.get('key')!;
    expect(call.func.name).toBe('_rebuild_tensor_v2');
    expect(call.args).toEqual([70000, 2 ** 33, [3, 4], false]);
  });

  it('names the problem on garbage', () => {
    expect(() => unpickle(Uint8Array.of(0x80, 2, 0xff), 'x.pkl')).toThrow(NotACheckpointError);
    expect(() => unpickle(Uint8Array.of(0x80, 2, 0x7d), 'x.pkl')).toThrow(/ends unexpectedly/);
    expect(() => unpickle(Uint8Array.of(0x80, 2, 0x68, 9, 0x2e), 'x.pkl')).toThrow(/memo 9 missing/);
  });
});
