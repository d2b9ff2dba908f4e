import { describe, it, expect } from 'vitest';
import { asArray, at, hasSharedSchema, isObject, readYamlFile, validateWithSharedSchema } from './support.js';

const SCHEMA = 'slack-manifest.v1.schema.json';
const EVENTS_URL = /^https:\/\/[^/]+\/approval-apps\/slack\/events$/;

const manifest = readYamlFile('manifest.yml');

describe.skipIf(!hasSharedSchema(SCHEMA))('manifest.yml against ../shared/schemas/slack-manifest.v1.schema.json', () => {
  it('is valid', () => {
    expect(validateWithSharedSchema(SCHEMA, manifest)).toEqual([]);
  });
});

describe('manifest.yml', () => {
  it('is a version 1 manifest for an app reached over HTTP', () => {
    expect(at(manifest, '_metadata', 'major_version')).toBe(1);
    expect(at(manifest, 'display_information', 'name')).toBe('GitLab Approvals');
    expect(at(manifest, 'display_information', 'description')).toBeTypeOf('string');
    expect(at(manifest, 'features', 'bot_user', 'display_name')).toBeTypeOf('string');
    expect(at(manifest, 'settings', 'socket_mode_enabled')).toBe(false);
    expect(at(manifest, 'settings', 'org_deploy_enabled')).toBe(false);
    expect(at(manifest, 'settings', 'token_rotation_enabled')).toBe(false);
  });

  it('offers /pending, answered at the Slack events route', () => {
    const pending = asArray(at(manifest, 'features', 'slash_commands'))
      .filter(isObject)
      .find((command) => command.command === '/pending');
    expect(pending, '/pending').toBeDefined();
    expect(String(pending?.url)).toMatch(EVENTS_URL);
    expect(pending?.description).toBeTypeOf('string');
    expect(pending?.usage_hint).toBeTypeOf('string');
    expect(pending?.should_escape).toBe(false);
  });

  it('enables interactivity at the same route', () => {
    expect(at(manifest, 'settings', 'interactivity', 'is_enabled')).toBe(true);
    expect(String(at(manifest, 'settings', 'interactivity', 'request_url'))).toMatch(EVENTS_URL);
  });

  it('has a Home tab, and subscribes to app_home_opened at the same route', () => {
    expect(at(manifest, 'features', 'app_home', 'home_tab_enabled')).toBe(true);
    // Authors' direct messages land in the Messages tab.
    expect(at(manifest, 'features', 'app_home', 'messages_tab_enabled')).toBe(true);
    expect(String(at(manifest, 'settings', 'event_subscriptions', 'request_url'))).toMatch(EVENTS_URL);
    expect(asArray(at(manifest, 'settings', 'event_subscriptions', 'bot_events'))).toEqual(['app_home_opened']);
  });

  it('asks for exactly the bot scopes the bot uses', () => {
    const scopes = asArray(at(manifest, 'oauth_config', 'scopes', 'bot')).map(String);
    expect([...scopes].sort()).toEqual(['chat:write', 'commands', 'usergroups:read', 'users:read', 'users:read.email']);
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(at(manifest, 'oauth_config', 'scopes', 'user')).toBeUndefined();
  });
});
