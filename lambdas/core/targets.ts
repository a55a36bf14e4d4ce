import type { CheckConfig, FleetConfig, Signal } from './config-schema.ts';
import type { SecretRef } from './secret-ref.ts';

/**
 * A probe target: one thing the probe cycle checks. Derived from the config, never stored.
 * The id is the immutable identity used in state and in incident dedup keys: `<name>:<check>@<host>`.
 */
export type Target = HttpTarget | TcpTarget | PostgresTarget | RedisTarget | PrometheusTarget;

interface TargetBase {
  readonly id: string;
  readonly name: string;
  /** Host the target lives on: what a host-wide outage groups by. */
  readonly host: string;
  readonly critical: boolean;
  /** The service this target belongs to (service health checks and per-service metrics). */
  readonly service?: string;
  /** Role in grouping: a service health check, an infrastructure dependency, or a performance signal. */
  readonly role: 'service' | 'dependency' | 'metric';
}

export interface HttpTarget extends TargetBase {
  readonly kind: 'http';
  readonly url: string;
  readonly expectStatus?: readonly number[];
  readonly bodyContains?: string;
}
export interface TcpTarget extends TargetBase {
  readonly kind: 'tcp';
  readonly port: number;
}
export interface PostgresTarget extends TargetBase {
  readonly kind: 'postgres';
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly passwordEnv?: string;
  readonly passwordSecret?: SecretRef;
  readonly query: string;
}
export interface RedisTarget extends TargetBase {
  readonly kind: 'redis';
  readonly port: number;
}
export interface PrometheusTarget extends TargetBase {
  readonly kind: 'prometheus';
  readonly url: string;
  readonly query: string;
  readonly signal: Signal;
  readonly max: number;
}

export type TargetKind = Target['kind'];

export function targetsFromConfig(config: FleetConfig): Target[] {
  const services: Target[] = config.services.map((s) => ({
    id: `${s.name}:health@${s.host}`,
    name: s.name,
    kind: 'http',
    host: s.host,
    critical: s.critical,
    service: s.name,
    role: 'service',
    url: `${s.scheme}://${formatHost(s.host)}:${s.port}${s.healthPath}`,
  }));
  return [...services, ...config.checks.map((c) => checkTarget(c, config))];
}

function checkTarget(check: CheckConfig, config: FleetConfig): Target {
  const base = { name: check.name, critical: check.critical };
  switch (check.kind) {
    case 'http': {
      const host = new URL(check.url).hostname;
      return {
        ...base,
        id: `${check.name}:http@${host}`,
        kind: 'http',
        host,
        role: 'dependency',
        url: check.url,
        ...(check.expect?.status ? { expectStatus: check.expect.status } : {}),
        ...(check.expect?.bodyContains ? { bodyContains: check.expect.bodyContains } : {}),
      };
    }
    case 'tcp':
      return {
        ...base,
        id: `${check.name}:tcp@${check.host}`,
        kind: 'tcp',
        host: check.host,
        role: 'dependency',
        port: check.port,
      };
    case 'redis':
      return {
        ...base,
        id: `${check.name}:redis@${check.host}`,
        kind: 'redis',
        host: check.host,
        role: 'dependency',
        port: check.port,
      };
    case 'postgres':
      return {
        ...base,
        id: `${check.name}:postgres@${check.host}`,
        kind: 'postgres',
        host: check.host,
        role: 'dependency',
        port: check.port,
        database: check.database,
        user: check.user,
        query: check.query,
        ...(check.passwordEnv ? { passwordEnv: check.passwordEnv } : {}),
        ...(check.passwordSecret ? { passwordSecret: check.passwordSecret } : {}),
      };
    case 'prometheus': {
      const host = new URL(check.url).hostname;
      return {
        ...base,
        id: `${check.name}:${check.signal}@${host}`,
        kind: 'prometheus',
        host,
        role: 'metric',
        url: check.url,
        query: check.query,
        signal: check.signal,
        max: check.max ?? config.thresholds[check.signal],
        ...(check.service ? { service: check.service } : {}),
      };
    }
  }
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
