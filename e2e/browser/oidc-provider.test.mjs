// oidc-demo against the oidc-provider npm package (e2e/oidc-provider/server.mjs),
// APP_URL on 127.0.0.1: the same host as the provider, so both sets of cookies
// share the browser's cookie jar for that host.
import { npmOidcProvider } from './lib/providers.mjs';
import { browserSuite } from './lib/suite.mjs';

browserSuite({ run: 'oidc-provider', appHost: '127.0.0.1', provider: npmOidcProvider });
