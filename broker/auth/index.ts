/**
 * broker/auth — who a client is and what it may do: JWT verification
 * (verifier.ts, with jose) and topic-pattern permissions (permissions.ts).
 */
export { allows, covers, allPermissions, adminPermissions, adminTopic, noPermissions, type Action, type Permissions } from './permissions.js';
export { JwtVerifier, type Identity, type JwtConfig, type Verified } from './verifier.js';
export { Authenticator, anonymous, operator, type AuthOptions } from './authenticator.js';
