import type { ReportPayload } from '../domain/effects.js';
import { explainGitLabError, gitbeakerApi, gitbeakerOptions, type GitLabOptions } from './client.js';

export { explainGitLabError, requesterFn, type GitLabOptions } from './client.js';

export type ReportToGitLab = (report: ReportPayload) => Promise<void>;

/** Posts a status check response: the call that turns the check passed or failed in GitLab. */
export function createReporter(options: GitLabOptions): ReportToGitLab {
  const api = gitbeakerApi(({ ExternalStatusChecks }) => new ExternalStatusChecks(gitbeakerOptions(options)));
  return async (report) => {
    try {
      // gitbeaker's type lists passed and failed only; GitLab takes pending too (16.5+).
      await (await api()).set(report.projectId, report.mergeRequestIid, report.sha, report.statusCheckId, { status: report.status as 'passed' | 'failed' });
    } catch (error) {
      throw explainGitLabError(error);
    }
  };
}
