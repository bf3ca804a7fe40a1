import { readFileSync } from 'node:fs';
import type { FakeQueueSettings } from './fake-queue.js';

/** The queue's numbers as deploy/terraform/tasks.tf gives them to the real queue. */
const DEPLOY_QUEUE_SETTINGS = new URL('../../../../deploy/terraform/queue-settings.json', import.meta.url);

/** deploy/terraform/queue-settings.json: the Cloud Tasks queue as Terraform creates it. */
export interface QueueSettings {
  name: string;
  maxDispatchesPerSecond: number;
  maxConcurrentDispatches: number;
  maxAttempts: number;
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
  maxDoublings: number;
  dispatchDeadlineSeconds: number;
}

export function queueSettings(): QueueSettings {
  return JSON.parse(readFileSync(DEPLOY_QUEUE_SETTINGS, 'utf8')) as QueueSettings;
}

/**
 * The production queue's settings from deploy/terraform/queue-settings.json, for a fake queue
 * that behaves as the deployed one (backoffs of seconds: for end-to-end runs, not the contract).
 */
export function deployQueueSettings(project: string, location: string): FakeQueueSettings {
  const deploy = queueSettings();
  return {
    queueName: `projects/${project}/locations/${location}/queues/${deploy.name}`,
    maxDispatchesPerSecond: deploy.maxDispatchesPerSecond,
    maxConcurrentDispatches: deploy.maxConcurrentDispatches,
    maxAttempts: deploy.maxAttempts,
    minBackoffMs: deploy.minBackoffSeconds * 1000,
    maxBackoffMs: deploy.maxBackoffSeconds * 1000,
    maxDoublings: deploy.maxDoublings,
  };
}
