package storageretry

import (
	"context"
	"time"

	"github.com/dexidp/dex/storage"
)

// The writes of storage.Storage, each retried on conflicts. A create that
// conflicted was rolled back, so running it again cannot make a duplicate;
// an update runs its updater again on the value as it is now.

func (r *retrying) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	return r.do(ctx, "CreateAuthRequest", func() error { return r.Storage.CreateAuthRequest(ctx, a) })
}

func (r *retrying) CreateClient(ctx context.Context, c storage.Client) error {
	return r.do(ctx, "CreateClient", func() error { return r.Storage.CreateClient(ctx, c) })
}

func (r *retrying) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	return r.do(ctx, "CreateAuthCode", func() error { return r.Storage.CreateAuthCode(ctx, c) })
}

func (r *retrying) CreateRefresh(ctx context.Context, t storage.RefreshToken) error {
	return r.do(ctx, "CreateRefresh", func() error { return r.Storage.CreateRefresh(ctx, t) })
}

func (r *retrying) CreatePassword(ctx context.Context, p storage.Password) error {
	return r.do(ctx, "CreatePassword", func() error { return r.Storage.CreatePassword(ctx, p) })
}

func (r *retrying) CreateConnector(ctx context.Context, c storage.Connector) error {
	return r.do(ctx, "CreateConnector", func() error { return r.Storage.CreateConnector(ctx, c) })
}

func (r *retrying) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	return r.do(ctx, "CreateDeviceRequest", func() error { return r.Storage.CreateDeviceRequest(ctx, d) })
}

func (r *retrying) CreateDeviceToken(ctx context.Context, d storage.DeviceToken) error {
	return r.do(ctx, "CreateDeviceToken", func() error { return r.Storage.CreateDeviceToken(ctx, d) })
}

func (r *retrying) DeleteAuthRequest(ctx context.Context, id string) error {
	return r.do(ctx, "DeleteAuthRequest", func() error { return r.Storage.DeleteAuthRequest(ctx, id) })
}

func (r *retrying) DeleteAuthCode(ctx context.Context, code string) error {
	return r.do(ctx, "DeleteAuthCode", func() error { return r.Storage.DeleteAuthCode(ctx, code) })
}

func (r *retrying) DeleteClient(ctx context.Context, id string) error {
	return r.do(ctx, "DeleteClient", func() error { return r.Storage.DeleteClient(ctx, id) })
}

func (r *retrying) DeleteRefresh(ctx context.Context, id string) error {
	return r.do(ctx, "DeleteRefresh", func() error { return r.Storage.DeleteRefresh(ctx, id) })
}

func (r *retrying) DeletePassword(ctx context.Context, email string) error {
	return r.do(ctx, "DeletePassword", func() error { return r.Storage.DeletePassword(ctx, email) })
}

func (r *retrying) DeleteOfflineSessions(ctx context.Context, userID, connID string) error {
	return r.do(ctx, "DeleteOfflineSessions", func() error { return r.Storage.DeleteOfflineSessions(ctx, userID, connID) })
}

func (r *retrying) DeleteConnector(ctx context.Context, id string) error {
	return r.do(ctx, "DeleteConnector", func() error { return r.Storage.DeleteConnector(ctx, id) })
}

func (r *retrying) UpdateClient(ctx context.Context, id string, updater func(storage.Client) (storage.Client, error)) error {
	return r.update(ctx, "UpdateClient", id, func() error { return r.Storage.UpdateClient(ctx, id, updater) })
}

func (r *retrying) UpdateKeys(ctx context.Context, updater func(storage.Keys) (storage.Keys, error)) error {
	return r.update(ctx, "UpdateKeys", "", func() error { return r.Storage.UpdateKeys(ctx, updater) })
}

func (r *retrying) UpdateAuthRequest(ctx context.Context, id string, updater func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	return r.update(ctx, "UpdateAuthRequest", id, func() error { return r.Storage.UpdateAuthRequest(ctx, id, updater) })
}

func (r *retrying) UpdateRefreshToken(ctx context.Context, id string, updater func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	return r.update(ctx, "UpdateRefreshToken", id, func() error { return r.Storage.UpdateRefreshToken(ctx, id, updater) })
}

func (r *retrying) UpdatePassword(ctx context.Context, email string, updater func(storage.Password) (storage.Password, error)) error {
	return r.update(ctx, "UpdatePassword", email, func() error { return r.Storage.UpdatePassword(ctx, email, updater) })
}

func (r *retrying) UpdateConnector(ctx context.Context, id string, updater func(storage.Connector) (storage.Connector, error)) error {
	return r.update(ctx, "UpdateConnector", id, func() error { return r.Storage.UpdateConnector(ctx, id, updater) })
}

func (r *retrying) UpdateDeviceToken(ctx context.Context, deviceCode string, updater func(storage.DeviceToken) (storage.DeviceToken, error)) error {
	return r.update(ctx, "UpdateDeviceToken", deviceCode, func() error { return r.Storage.UpdateDeviceToken(ctx, deviceCode, updater) })
}

func (r *retrying) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	var res storage.GCResult
	err := r.do(ctx, "GarbageCollect", func() error {
		var err error
		res, err = r.Storage.GarbageCollect(ctx, now)
		return err
	})
	return res, err
}
