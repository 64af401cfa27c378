package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Run serves until ctx is cancelled or a listener fails, then shuts down:
// listeners stop accepting, in-flight requests get up to the shutdown
// timeout to finish, background work stops and storage is closed. It returns
// nil when shutdown was requested through ctx. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	err := errors.New("serve: Run called more than once")
	s.runOnce.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Server) run(ctx context.Context) error {
	errs := make(chan error, len(s.listeners))
	var serving sync.WaitGroup
	for name, srv := range s.http {
		l := s.listeners[name]
		serving.Add(1)
		go func() {
			defer serving.Done()
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve %s: %w", name, err)
			}
		}()
	}
	if s.grpc != nil {
		l := s.listeners[ListenerGRPC]
		serving.Add(1)
		go func() {
			defer serving.Done()
			if err := s.grpc.Serve(l); err != nil {
				errs <- fmt.Errorf("serve grpc: %w", err)
			}
		}()
	}

	var failure error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down", "reason", context.Cause(ctx).Error())
	case failure = <-errs:
		s.logger.Error("shutting down after a listener failed", "err", failure)
	}

	s.shutdown()
	serving.Wait()
	s.releaseResources()
	s.logger.Info("shutdown complete")
	return failure
}

// shutdown stops the listeners and waits, up to the shutdown timeout, for
// in-flight requests; connections still open then are closed.
func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()

	var wg sync.WaitGroup
	for name, srv := range s.http {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				s.logger.Warn("graceful shutdown incomplete, closing connections", "server", string(name), "err", err)
				_ = srv.Close()
			}
		}()
	}
	if s.grpc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopped := make(chan struct{})
			go func() {
				s.grpc.GracefulStop()
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-ctx.Done():
				s.logger.Warn("graceful shutdown incomplete, closing connections", "server", string(ListenerGRPC))
				s.grpc.Stop()
				<-stopped
			}
		}()
	}
	wg.Wait()
}

// Close releases a server that was never run: it closes the listeners,
// stops background work and closes storage. After Run it does nothing.
func (s *Server) Close() error {
	ran := true
	s.runOnce.Do(func() { ran = false })
	if ran {
		return nil
	}
	for _, l := range s.listeners {
		_ = l.Close()
	}
	s.releaseResources()
	return nil
}

func (s *Server) releaseResources() {
	s.releaseOnce.Do(s.release)
}
