//! Bearer-token validation for APIs (RFC 6750, RFC 9068).
