// Command kube-apiserver builds the kube-apiserver binaries the tests run
// (package kubetest), ahead of `go test`, and reports how long each took:
//
//	go run ./test/kube-apiserver            # every version
//	go run ./test/kube-apiserver 1.34 1.37  # some
//
// Each subdirectory is a Go module of its own that requires one release
// of k8s.io/kubernetes. A binary already built for a module's current
// content is reported as cached.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/dextest/kubetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, names []string) error {
	var versions []kubetest.Version
	if len(names) == 0 {
		all, err := kubetest.Versions()
		if err != nil {
			return err
		}
		versions = all
	}
	for _, name := range names {
		v, err := kubetest.LookupVersion(name)
		if err != nil {
			return err
		}
		versions = append(versions, v)
	}
	for _, v := range versions {
		if path, ok, err := kubetest.Cached(ctx, v); err != nil {
			return err
		} else if ok {
			fmt.Printf("%s: cached, %s\n", v, path)
			continue
		}
		start := time.Now()
		path, err := kubetest.Build(ctx, v)
		if err != nil {
			return err
		}
		fmt.Printf("%s: built in %v, %s\n", v, time.Since(start).Round(time.Second), path)
	}
	return nil
}
