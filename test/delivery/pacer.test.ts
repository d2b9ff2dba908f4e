import { describe, expect, it } from 'vitest';
import { Pacer } from '../../src/delivery/pacer.js';

describe('the pacer: one message per interval per channel', () => {
  it('lets the first go at once and gives each of a burst a slot of its own, one interval apart', () => {
    const pacer = new Pacer(1);
    expect(pacer.slot('C1', 1, 10_000)).toBe(10_000);
    expect(pacer.slot('C1', 2, 10_000)).toBe(11_000);
    expect(pacer.slot('C1', 3, 10_010)).toBe(12_000);
    // Asked again before its slot, a message keeps the slot it was given.
    expect(pacer.slot('C1', 3, 11_500)).toBe(12_000);
    expect(pacer.slot('C1', 2, 11_000)).toBe(11_000);
    expect(pacer.slot('C1', 3, 12_000)).toBe(12_000);
  });

  it('keeps channels apart: a channel with a backlog does not delay another', () => {
    const pacer = new Pacer(1);
    for (let i = 1; i <= 5; i++) pacer.slot('C1', i, 0);
    expect(pacer.slot('C2', 6, 0)).toBe(0);
    expect(pacer.slot('C2', 7, 0)).toBe(1000);
  });

  it('a slot that comes due late still keeps the interval from the message sent last', () => {
    const pacer = new Pacer(2);
    pacer.slot('C1', 1, 0);
    expect(pacer.slot('C1', 2, 0)).toBe(500);
    expect(pacer.slot('C1', 3, 0)).toBe(1000);
    // The lane was busy until 2000: both slots have passed, yet they go 500 ms apart.
    expect(pacer.slot('C1', 2, 2000)).toBe(2000);
    expect(pacer.slot('C1', 3, 2000)).toBe(2500);
    expect(pacer.slot('C1', 3, 2500)).toBe(2500);
  });

  it('a message released from its slot (nothing to post any more) is asked about afresh', () => {
    const pacer = new Pacer(1);
    pacer.slot('C1', 1, 0);
    expect(pacer.slot('C1', 2, 0)).toBe(1000);
    pacer.release(2);
    expect(pacer.slot('C1', 2, 5000)).toBe(5000);
    expect(pacer.slot('C1', 3, 5000)).toBe(6000);
  });
});
