import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * What a Lambda bundle gets for `@aws-sdk/credential-provider-node` (an esbuild alias set by ControlPlaneFunction):
 * the SDK clients' default credential chain, cut to its first link. Lambda always gives a function its execution
 * role's credentials as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, so the rest of the chain
 * (profiles, SSO, web identity, containers, instance metadata, which bring the STS and SSO clients along) is never
 * reached there; leaving it out makes every bundle smaller and its import shorter. Tests and the CLI use the real
 * chain.
 */
export function defaultProvider(init: Parameters<typeof fromEnv>[0] = {}) {
  return fromEnv(init);
}
