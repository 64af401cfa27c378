package spectrocloud

import "github.com/dex-spectro/dex-spectro/internal/connhook"

// failureErr returns the failure the connector recorded, or nil.
func failureErr(r *connhook.Recorder) error {
	err, _ := r.Failure()
	return err
}

// failureFinal reports whether the failure the connector recorded needs a
// new sign-in.
func failureFinal(r *connhook.Recorder) bool {
	_, final := r.Failure()
	return final
}
