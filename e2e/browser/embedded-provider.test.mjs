// oidc-demo with its embedded development provider (no OIDC_ISSUER), APP_URL on localhost.
import { embeddedProvider } from './lib/providers.mjs';
import { browserSuite } from './lib/suite.mjs';

browserSuite({ run: 'embedded-provider', appHost: 'localhost', provider: embeddedProvider });
