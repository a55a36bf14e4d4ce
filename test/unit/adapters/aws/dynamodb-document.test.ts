import { describe, expect, it } from 'vitest';
import { marshallItem, toAttributeValue, unmarshallItem } from '../../../../lambdas/adapters/aws/dynamodb-document.ts';

describe('DynamoDB attribute values (as lib-dynamodb with removeUndefinedValues)', () => {
  it('marshals every plain type, leaving undefined attributes and list members out', () => {
    expect(
      marshallItem({
        s: 'x',
        empty: '',
        n: 1.5,
        zero: 0,
        t: true,
        nothing: null,
        gone: undefined,
        list: ['a', undefined, 2],
        map: { inner: { deep: 'y', gone: undefined } },
        tags: new Set(['a', 'b']),
        ids: new Set([1, 2]),
        bytes: new Uint8Array([1, 2, 3]),
      }),
    ).toEqual({
      s: { S: 'x' },
      empty: { S: '' },
      n: { N: '1.5' },
      zero: { N: '0' },
      t: { BOOL: true },
      nothing: { NULL: true },
      list: { L: [{ S: 'a' }, { N: '2' }] },
      map: { M: { inner: { M: { deep: { S: 'y' } } } } },
      tags: { SS: ['a', 'b'] },
      ids: { NS: ['1', '2'] },
      bytes: { B: 'AQID' },
    });
  });

  it('reads back what it wrote', () => {
    const item = { s: 'x', n: -42, f: 0.25, t: false, z: null, l: [1, 'two', [3]], m: { a: { b: 'c' } } };
    expect(unmarshallItem(marshallItem(item))).toEqual(item);
    expect(unmarshallItem({ ss: { SS: ['a'] }, ns: { NS: ['1', '2'] }, b: { B: 'AQID' } })).toEqual({
      ss: new Set(['a']),
      ns: new Set([1, 2]),
      b: Buffer.from([1, 2, 3]),
    });
  });

  it('refuses what DynamoDB cannot store, naming the attribute', () => {
    expect(() => marshallItem({ a: { b: Number.NaN } })).toThrow('item.a.b: NaN cannot be stored as a DynamoDB number');
    expect(() => marshallItem({ x: Number.POSITIVE_INFINITY })).toThrow('item.x: Infinity');
    expect(() => marshallItem({ set: new Set() })).toThrow('item.set: DynamoDB cannot store an empty set');
    expect(() => marshallItem({ set: new Set(['a', 1]) })).toThrow('only strings or only numbers');
    expect(() => toAttributeValue(() => 1)).toThrow('a function cannot be stored in DynamoDB');
    expect(() => unmarshallItem({ x: { Q: '1' } })).toThrow('unknown DynamoDB attribute value {"Q":"1"}');
  });
});
