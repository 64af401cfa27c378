// Package resolver decides who a verified SpectroCloud Palette user is in the
// organisation, before Dex issues its own tokens.
//
// A [Chain] is built once from a [Config] (the connector's signIn section) and
// is safe for concurrent use. [Chain.Resolve] takes the verified ID token
// claims and the mapped email, tries the configured resolvers in order, and
// returns the first [Result] a resolver produces. A resolver that does not
// match hands over to the next one; a resolver that refuses the user (an email
// domain that is not allowed, an ambiguous catalog match) ends the sign-in with
// a [*DeniedError]. When no resolver matches, the sign-in is also denied, and
// the error lists what each resolver tried.
//
// The resolvers carry the names and options of Backstage's common sign-in
// resolvers, so that a Backstage signIn.resolvers list can move to Dex
// unchanged:
//
//   - emailMatchingUserEntityProfileEmail: the User entity whose
//     spec.profile.email equals the email.
//   - emailLocalPartMatchingUserEntityName: the User entity whose
//     metadata.name equals the local part of the email.
//   - claim: the string value of one ID token claim.
//   - expression: a CEL expression over the variable claims, compiled and
//     type-checked at construction and cost-limited when evaluated.
//
// The two email resolvers query Backstage's catalog REST API when a catalog is
// configured, and derive the user name from the email otherwise. Catalog
// answers are cached per query. A catalog that cannot be reached, or that
// rejects the token, ends the sign-in with a [*CatalogError]: the chain fails
// closed and never guesses.
package resolver
