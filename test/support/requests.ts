/**
 * The requests that drive the bot as Slack and GitLab do, for tests. They live beside the
 * stand-ins in src/fakes because the demo and the benchmark drive the bot with them too.
 */
export {
  appHomeOpened,
  buttonClick,
  eventCallback,
  homeButtonClick,
  reasonSubmission,
  rejectSubmission,
  sendCommand,
  sendEvent,
  sendInteraction,
  slackHeaders,
  slashCommand,
  urlVerification,
} from '../../src/fakes/slack-requests.js';
export { gitlabSignature, sendStatusCheck } from '../../src/fakes/gitlab-requests.js';
