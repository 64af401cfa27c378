// Package entrypoint does what Dex's container entrypoint does before Dex
// starts: for `dex serve`, every argument naming a file that ends in .tpl,
// .tmpl or .yaml is rendered as a template and replaced by the rendered
// copy.
//
// Dex's image renders with the gomplate program. This package renders
// in-process with text/template and the part of gomplate's functions that
// Dex configurations use (getenv and env.Getenv with NAME_FILE, .Env,
// required, fail, default, conv.ToBool, conv.ToInt, join, has, the strings
// functions that change case, trim, test, split, replace, quote and indent,
// base64, file.Read, file.Exists and toJSON), each with gomplate's name, argument order and
// result, so that a configuration written for Dex's image renders the same.
// A differential test renders a corpus with gomplate v4.3.3 itself to keep
// it so.
//
// As in gomplate, `.Env.NAME` of an unset variable is an error (text/template's
// missingkey=error), while `index .Env "NAME"` renders "". A template that
// uses any other function, fails a required check, or reads a NAME_FILE
// that cannot be read is an error that names the file, the line and the
// function; template text is never passed through unrendered.
//
// Rendering is bounded: a render stops with an error that names the file
// and the limit after 10 seconds, after 10000 template calls, once its
// functions would produce more than 64 MiB in all (counted before they
// allocate), or once the rendered file passes 16 MiB.
//
// Rendered files hold secrets (environment variables put into the
// configuration): they are written to private temporary files (mode 0600)
// and removed by the caller when the server stops. No rendered value
// appears in an error message, but for the message a template passes to
// fail or required, which is printed as written.
package entrypoint
