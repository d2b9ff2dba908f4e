import { describe, expect, it } from 'vitest';
import { accountOf, people, sightingsOf, tallyApproval, type Sighting } from '../../src/domain/people.js';
import { namesGitLabUser } from '../../src/domain/policy.js';

/** That `account` showed this e-mail, as the gate records it. */
const saw = (account: string, email: string): Sighting => ({ account, seen: sightingsOf({ email })[0] as string });
const sawUserId = (account: string, id: number): Sighting => ({ account, seen: sightingsOf({ email: null, gitlabUserId: id })[0] as string });

describe('who counts as the same person', () => {
  it.each<{ story: string; accounts: string[]; sightings: Sighting[]; people: string[][] }>([
    { story: 'two accounts, no e-mail known: two people', accounts: ['slack:U1', 'slack:U2'], sightings: [], people: [['slack:U1'], ['slack:U2']] },
    { story: 'the same account twice: one person', accounts: ['slack:U1', 'slack:U1'], sightings: [], people: [['slack:U1']] },
    {
      story: 'one account seen with two e-mails: still one person',
      accounts: ['slack:U1'],
      sightings: [saw('slack:U1', 'a@x'), saw('slack:U1', 'b@x')],
      people: [['slack:U1']],
    },
    {
      story: 'a Slack and a GitLab account that share an e-mail: one person',
      accounts: ['slack:U1', 'gitlab:kpatel'],
      sightings: [saw('slack:U1', 'kiran@x'), saw('gitlab:kpatel', 'kiran@x')],
      people: [['slack:U1', 'gitlab:kpatel']],
    },
    {
      story: 'an e-mail shared once, long changed since: still one person',
      accounts: ['slack:U1', 'gitlab:kpatel'],
      sightings: [saw('slack:U1', 'kiran@work'), saw('slack:U1', 'kiran@home'), saw('gitlab:kpatel', 'kiran@work'), saw('gitlab:kpatel', 'kp@new')],
      people: [['slack:U1', 'gitlab:kpatel']],
    },
    {
      story: 'e-mails differ only in case and spaces: one person',
      accounts: ['slack:U1', 'gitlab:kpatel'],
      sightings: [saw('slack:U1', 'Kiran@X'), saw('gitlab:kpatel', ' kiran@x ')],
      people: [['slack:U1', 'gitlab:kpatel']],
    },
    {
      story: 'linked through a third account: one person',
      accounts: ['slack:U1', 'web:kiran'],
      sightings: [saw('slack:U1', 'a@x'), saw('gitlab:kpatel', 'a@x'), saw('gitlab:kpatel', 'b@x'), saw('web:kiran', 'b@x')],
      people: [['slack:U1', 'web:kiran']],
    },
    {
      story: 'a GitLab account renamed, with a new e-mail too: one person by its user id',
      accounts: ['gitlab:kpatel', 'gitlab:kiran.p'],
      sightings: [saw('gitlab:kpatel', 'kiran@old'), sawUserId('gitlab:kpatel', 4242), saw('gitlab:kiran.p', 'kiran@new'), sawUserId('gitlab:kiran.p', 4242)],
      people: [['gitlab:kpatel', 'gitlab:kiran.p']],
    },
    {
      story: 'different e-mails: different people',
      accounts: ['slack:U1', 'slack:U2', 'gitlab:sam'],
      sightings: [saw('slack:U1', 'a@x'), saw('slack:U2', 'b@x'), saw('gitlab:sam', 'c@x')],
      people: [['slack:U1'], ['slack:U2'], ['gitlab:sam']],
    },
  ])('$story', ({ accounts, sightings, people: expected }) => {
    expect(people(accounts, sightings)).toEqual(expected);
  });
});

describe('what one more approval does to a quorum', () => {
  it.each<{ story: string; prior: string[]; account: string; sightings: Sighting[]; required: number; tally: string }>([
    { story: 'the first of two', prior: [], account: 'slack:U1', sightings: [], required: 2, tally: 'counted' },
    { story: 'the only one needed', prior: [], account: 'slack:U1', sightings: [], required: 1, tally: 'decides' },
    { story: 'a second person', prior: ['slack:U1'], account: 'slack:U2', sightings: [], required: 2, tally: 'decides' },
    {
      story: 'the same account after its e-mail changed',
      prior: ['slack:U1'],
      account: 'slack:U1',
      sightings: [saw('slack:U1', 'old@x'), saw('slack:U1', 'new@x')],
      required: 2,
      tally: 'already_counted',
    },
    {
      story: 'another account that once had the same e-mail',
      prior: ['slack:U1'],
      account: 'gitlab:kpatel',
      sightings: [saw('slack:U1', 'old@x'), saw('gitlab:kpatel', 'old@x'), saw('gitlab:kpatel', 'new@x')],
      required: 2,
      tally: 'already_counted',
    },
    { story: 'a second of three', prior: ['slack:U1'], account: 'gitlab:sam', sightings: [], required: 3, tally: 'counted' },
  ])('$story: $tally', ({ prior, account, sightings, required, tally }) => {
    expect(tallyApproval(prior, account, sightings, required)).toBe(tally);
  });
});

describe('the account someone decides with', () => {
  it.each([
    [{ id: 'U0ABC', login: 'slack' as const, gitlabUsername: null }, 'slack:U0ABC'],
    [{ id: 'KPatel', login: 'gitlab' as const, gitlabUsername: 'KPatel' }, 'gitlab:kpatel'],
    [{ id: 'alice', login: 'password' as const, gitlabUsername: null }, 'web:alice'],
  ])('%j is %s', (identity, account) => {
    expect(accountOf(identity)).toBe(account);
  });
});

describe('GitLab usernames', () => {
  it.each<[string[], string, boolean]>([
    [['kpatel'], 'kpatel', true],
    [['KPatel'], 'kpatel', true],
    [['kpatel'], 'KPATEL', true],
    [['kpatel'], 'kpatel2', false],
    [[], 'kpatel', false],
  ])('%j names %s: %s', (list, username, named) => {
    expect(namesGitLabUser(list, username)).toBe(named);
  });
});

describe('what identifies an account besides its name', () => {
  it.each([
    [{ email: ' Kiran@Example.COM ', gitlabUserId: 4242 }, ['email:kiran@example.com', 'gitlab-user:4242']],
    [{ email: null, gitlabUserId: null }, []],
    [{ email: 'sam@example.com' }, ['email:sam@example.com']],
  ])('%j: %j', (identity, seen) => {
    expect(sightingsOf(identity)).toEqual(seen);
  });
});
