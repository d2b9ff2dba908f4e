// Fails on known high or critical advisories in the production dependencies (dev tools are
// not deployed). When the advisory service cannot be reached, says so and does not fail:
// the GitLab pipeline's audit job runs the same check with the network it has.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.log(`npm audit: no report (exit ${run.status}); skipped.\n${run.stderr}`);
  process.exit(0);
}
if (!report.metadata) {
  console.log(`npm audit: the advisory service could not be reached (${report.message ?? report.error?.summary ?? 'no answer'}); skipped.`);
  process.exit(0);
}
const { high = 0, critical = 0, total = 0 } = report.metadata.vulnerabilities;
console.log(`npm audit (production dependencies): ${total} advisories, ${high} high, ${critical} critical.`);
if (high + critical > 0) {
  spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high'], { stdio: 'inherit' });
  process.exit(1);
}
