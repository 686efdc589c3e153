import { describe, expect, test } from 'vitest';
import { deserializeError, IntegrityError, serializeError } from './errors.ts';

describe('engine errors', () => {
  test('keep their class across serialization (names are explicit, minification-proof)', async () => {
    const back = deserializeError(serializeError(new IntegrityError('bad file', { file: 'a.onnx' })));
    expect(back).toBeInstanceOf(IntegrityError);
    expect(back.name).toBe('IntegrityError');
    expect(back.details).toEqual({ file: 'a.onnx' });
    expect(deserializeError(serializeError(new TypeError('x'))).message).toBe('TypeError: x');
  });
});
