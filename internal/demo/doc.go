// Package demo runs dex-spectro end to end on one machine, without a
// SpectroCloud tenant: an emulated Palette console (spectrotest) with a few
// demo users, Dex with the spectrocloud connector, configured through the
// same configuration file format and start-up code as `dex-spectro serve`,
// and a small relying-party web app that signs in through Dex, shows the ID
// token's claims, refreshes it and prints a kubeconfig entry for kubelogin.
//
// Everything listens on 127.0.0.1. Palette's ID tokens are made short-lived
// so that a user can watch Dex refresh a session without calling Palette,
// and then refuse to once the Palette sign-in has expired.
//
//	err := demo.Run(ctx, demo.DefaultOptions(), os.Stdout)
//
// The spectrocloud connector type must be registered first, with
// connectors.Register.
package demo
