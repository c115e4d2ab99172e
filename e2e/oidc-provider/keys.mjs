// Signing keys for server.mjs: fresh per process, one of each family so that
// any id_token_signed_response_alg a test registers (RS*, PS*, ES256, EdDSA)
// works. The first key (RSA) is the default for RS256.

import * as crypto from 'node:crypto';

function jwk(type, options) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const key = privateKey.export({ format: 'jwk' });
  key.use = 'sig';
  return key;
}

// A private JWK Set (RFC 7517 section 5) for oidc-provider's `jwks` option.
export function generateJwks() {
  return {
    keys: [
      jwk('rsa', { modulusLength: 2048 }),
      jwk('ec', { namedCurve: 'P-256' }),
      jwk('ed25519'),
    ],
  };
}
