package storageretry

import (
	"context"
	"errors"

	"github.com/dexidp/dex/storage"
)

// CreateOfflineSessions creates a user's offline session; when a concurrent
// sign-in of the same user created it first, it joins that one.
//
// Dex keeps one offline session per user and connector. The first sign-ins
// of a user from two clients at once (Backstage and kubectl) both find no
// session and both create one: the second create fails with
// storage.ErrAlreadyExists, and Dex answers that sign-in 500. Instead, the
// session the first created receives the second sign-in's refresh token
// reference and connector data, as Dex itself does when it finds the
// session (replacing the reference of the same client, whose refresh token
// it then deletes, as Dex deletes the one a new sign-in replaces).
func (r *retrying) CreateOfflineSessions(ctx context.Context, s storage.OfflineSessions) error {
	err := r.do(ctx, "CreateOfflineSessions", func() error { return r.Storage.CreateOfflineSessions(ctx, s) })
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	var replaced []string
	err = r.UpdateOfflineSessions(ctx, s.UserID, s.ConnID, func(old storage.OfflineSessions) (storage.OfflineSessions, error) {
		replaced = nil
		if old.Refresh == nil {
			old.Refresh = make(map[string]*storage.RefreshTokenRef, len(s.Refresh))
		}
		for client, ref := range s.Refresh {
			if prev := old.Refresh[client]; prev != nil && ref != nil && prev.ID != ref.ID {
				replaced = append(replaced, prev.ID)
			}
			old.Refresh[client] = ref
		}
		if len(s.ConnectorData) > 0 {
			old.ConnectorData = s.ConnectorData
		}
		return old, nil
	})
	if err != nil {
		return err
	}
	r.opts.Logger.Debug("storage: a sign-in joined the offline session a concurrent sign-in of the same user created", "connector_id", s.ConnID)
	for _, id := range replaced {
		if err := r.DeleteRefresh(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			r.opts.Logger.Warn("storage: delete the refresh token a concurrent sign-in replaced", "err", err)
		}
	}
	return nil
}

// UpdateOfflineSessions updates a user's offline session, retried on
// conflicts, with the updater given a copy of the session's map of refresh
// token references (copy on write). Dex's memory storage hands every reader
// the map it keeps, and Dex's updaters write into the map they are given:
// a sign-in adding its client's reference while another request of the
// same user reads the map ends the process ("concurrent map read and map
// write"), in stock Dex too. With the copy, the map a reader holds is never
// written; storages that decode the session afresh pay a copy of a few
// entries.
func (r *retrying) UpdateOfflineSessions(ctx context.Context, userID, connID string, updater func(storage.OfflineSessions) (storage.OfflineSessions, error)) error {
	onCopy := func(old storage.OfflineSessions) (storage.OfflineSessions, error) {
		refs := make(map[string]*storage.RefreshTokenRef, len(old.Refresh))
		for client, ref := range old.Refresh {
			if ref != nil {
				c := *ref
				ref = &c
			}
			refs[client] = ref
		}
		old.Refresh = refs
		return updater(old)
	}
	return r.update(ctx, "UpdateOfflineSessions", userID+"|"+connID, func() error {
		return r.Storage.UpdateOfflineSessions(ctx, userID, connID, onCopy)
	})
}
