import type { FindAuthors } from '../domain/policy.js';
import { explainGitLabError, gitbeakerApi, gitbeakerOptions, type GitLabOptions } from './client.js';

export type PostNote = (projectId: number, mergeRequestIid: number, body: string) => Promise<void>;

interface Commit {
  author_email?: string | null;
  committer_email?: string | null;
}

/**
 * Who wrote a merge request: its author (username, public e-mail) and the authors and
 * committers of its commits. The four-eyes rule compares the person approving with these.
 */
export function createAuthorLookup(gitlab: GitLabOptions): FindAuthors {
  const options = gitbeakerOptions(gitlab);
  const api = gitbeakerApi(({ MergeRequests, Users }) => ({ mergeRequests: new MergeRequests(options), users: new Users(options) }));
  return async (projectId, iid) => {
    try {
      const { mergeRequests, users } = await api();
      const mr = (await mergeRequests.show(projectId, iid)) as { author?: { id?: number; username?: string } };
      // Every page: an author on page 11 of a long merge request is still its author.
      const commits = (await mergeRequests.allCommits(projectId, iid, { perPage: 100 })) as Commit[];
      const author = mr.author?.id ? ((await users.show(mr.author.id)) as { public_email?: string | null; email?: string | null }) : null;
      const isEmail = (e: unknown): e is string => typeof e === 'string' && e.includes('@');
      const own = [author?.public_email, author?.email].filter(isEmail);
      const emails = [...own, ...commits.flatMap((c) => [c.author_email, c.committer_email])];
      return {
        usernames: mr.author?.username ? [mr.author.username] : [],
        emails: [...new Set(emails.filter(isEmail))],
        authorEmailKnown: own.length > 0,
      };
    } catch (error) {
      throw explainGitLabError(error);
    }
  };
}

/** Posts a comment on a merge request (a rejection's reason, an approval's comment). */
export function createNotePoster(gitlab: GitLabOptions): PostNote {
  const notes = gitbeakerApi(({ MergeRequestNotes }) => new MergeRequestNotes(gitbeakerOptions(gitlab)));
  return async (projectId, iid, body) => {
    try {
      await (await notes()).create(projectId, iid, body);
    } catch (error) {
      throw explainGitLabError(error);
    }
  };
}
