// Package entrypoint does what Dex's container entrypoint does before Dex
// starts: for `dex serve`, every argument naming a file that ends in .tpl,
// .tmpl or .yaml is rendered as a template and replaced by the rendered
// copy.
//
// Dex's image renders with the gomplate program. This package renders
// in-process with text/template and the subset of gomplate's functions that
// Dex configurations use (getenv, .Env, env.Getenv, required, default, and
// the common strings, conv and base64 helpers), with gomplate's argument
// order, so that a configuration written for Dex's image renders the same.
// A template that uses any other function, indexes an unset variable
// through .Env, or fails a required check is an error that names the file,
// the line and the function; template text is never passed through
// unrendered.
//
// Rendered files hold secrets (environment variables put into the
// configuration): they are written to private temporary files (mode 0600)
// and removed by the caller when the server stops. No rendered value
// appears in an error message.
package entrypoint
