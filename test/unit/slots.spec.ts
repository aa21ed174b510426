import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/common/slots.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Slots', () => {
  it('admits `size` holders at once and the others in arrival order as slots are released', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    const take = (name: string) => slots.take().then((release) => (order.push(name), release));
    const [a, b] = await Promise.all([take('a'), take('b')]);
    const c = take('c');
    const d = take('d');
    await tick();
    expect(order).toEqual(['a', 'b']);
    expect(slots.waiting).toBe(2);
    b();
    b(); // a second call gives back nothing more
    await tick();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(slots.waiting).toBe(1);
    a();
    await tick();
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    (await c)();
    (await d)();
    // all four given back: two can hold at once again
    const again = await Promise.all([slots.take(), slots.take()]);
    expect(slots.waiting).toBe(0);
    again.forEach((release) => release());
  });

  it('a waiter whose signal aborts leaves the line with the reason and takes no slot', async () => {
    const slots = new Slots(1);
    const first = await slots.take();
    const left = new AbortController();
    const leaving = slots.take(left.signal);
    const staying = slots.take();
    left.abort(new Error('client left'));
    await expect(leaving).rejects.toThrow('client left');
    expect(slots.waiting).toBe(1);
    first();
    const second = await staying;
    expect(slots.waiting).toBe(0);
    second();
    await expect(slots.take(AbortSignal.abort(new Error('gone already')))).rejects.toThrow('gone already');
  });

  it('a newcomer does not pass the line while a slot is being handed over', async () => {
    const slots = new Slots(1);
    const first = await slots.take();
    const order: string[] = [];
    const waiter = slots.take().then((r) => (order.push('waiter'), r));
    first();
    const newcomer = slots.take().then((r) => (order.push('newcomer'), r));
    (await waiter)();
    (await newcomer)();
    expect(order).toEqual(['waiter', 'newcomer']);
  });
});
