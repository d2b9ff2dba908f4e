import { describe, expect, it } from 'vitest';
import { gitlabQuote, gitlabText } from '../../src/gitlab/markdown.js';

const ZWJ = '\u200D';

/** Lines GitLab would run as a quick action: a `/` at the start of a line. */
const quickActions = (body: string) => body.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/).filter((l) => /^\s*\//.test(l));

describe('text quoted in a GitLab note', () => {
  it.each<[string, string]>([
    ['Looks good.', '> Looks good.'],
    ['two\nlines', '> two\n> lines'],
    ['@all please look', `> @${ZWJ}all please look`],
    ['ping @payments-team and @dreyes', `> ping @${ZWJ}payments-team and @${ZWJ}dreyes`],
    ['/merge', '> /merge'],
    ['ok\n/close', '> ok\n> /close'],
    ['ok\r/close', '> ok\n> /close'],
    ['ok\r\n/approve', '> ok\n> /approve'],
    ['ok\u2028/close', '> ok\n> /close'],
    ['<img src=x onerror=alert(1)>', '> \\<img src=x onerror=alert\\(1\\)\\>'],
    ['**Approved** by the CEO', '> \\*\\*Approved\\*\\* by the CEO'],
    ['[click](https://evil.example)', '> \\[click\\]\\(https://evil.example\\)'],
    ['# Heading', '> \\# Heading'],
    ['---', '> \\---'],
    ['1. first', '> 1\\. first'],
    ['see #12, !7, ~security, %v1, $3, &4', '> see \\#12, \\!7, \\~security, \\%v1, \\$3, \\&4'],
    ['```\ncode\n```', '> \\`\\`\\`\n> code\n> \\`\\`\\`'],
    ['<!-- hidden -->', '> \\<\\!-- hidden --\\>'],
    ['evil\u202eright-to-left', '> evilright-to-left'],
    ['nul\u0000byte', '> nulbyte'],
    ['', '>'],
  ])('%j is quoted as %j', (text, quoted) => {
    expect(gitlabQuote(text)).toBe(quoted);
  });

  it('leaves no line that starts a quick action, and no mention, whatever the lines hold', () => {
    const nasty = ['/close', ' /merge', '\t/label ~x', '@all', '>>>\n/close\n>>>', 'a\r/assign @me', 'b\v/unlabel', 'c\f/lock', 'd\u0085/spend 1h'].join('\n');
    const body = gitlabQuote(nasty);
    expect(quickActions(body)).toEqual([]);
    expect(body).not.toMatch(/(^|[^\w])@[A-Za-z0-9_.]/);
    expect(body.split('\n').every((l) => l.startsWith('>'))).toBe(true);
  });
});

describe('a name in a GitLab note', () => {
  it.each<[string, string]>([
    ['Kiran Patel', 'Kiran Patel'],
    ['@all', `@${ZWJ}all`],
    ['Mallory\n/merge', 'Mallory /merge'],
    ['**CEO**', '\\*\\*CEO\\*\\*'],
  ])('%j is written %j', (name, written) => {
    expect(gitlabText(name)).toBe(written);
  });
});
