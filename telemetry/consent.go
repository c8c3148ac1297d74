package telemetry

import (
	"fmt"
	"os"
	"path/filepath"
)

// The rules that decide whether a client is enabled, in the order they are checked.
// Status().Reason starts with the name of the rule that decided.
const (
	ReasonEnabled     = "enabled"
	ReasonDoNotTrack  = "DO_NOT_TRACK"
	ReasonEnvDisabled = "TELEMETRY_DISABLED" // <PRODUCT>_TELEMETRY_DISABLED
	ReasonOptOutFile  = "opt-out file"
	ReasonNoManifest  = "no package.json"
	ReasonNoUUID      = "no uuid"
	ReasonBadManifest = "invalid package.json"
)

// consent decides whether a client for cfg may collect anything. It reads the
// environment, stats the opt-out file and reads package.json; it writes nothing.
// optOut is true when the user (not the project) opted out, which also discards
// every spooled event of the product.
func consent(cfg Config) (projectID, reason string, optOut bool) {
	prefix := envPrefix(cfg.Product)
	if optsOut(os.Getenv("DO_NOT_TRACK")) {
		return "", ReasonDoNotTrack + " is set", true
	}
	if optsOut(os.Getenv(prefix + "_TELEMETRY_DISABLED")) {
		return "", prefix + "_" + ReasonEnvDisabled + " is set", true
	}
	if path, err := optOutPath(); err == nil {
		// Lstat: whatever stands at the path opts out, a dangling link too
		// (the privacy-safe reading, and the Node.js SDK's).
		if _, err := os.Lstat(path); err == nil {
			return "", ReasonOptOutFile + " " + path + " exists (telemetry.Disable)", true
		}
	}
	id, state, err := readProjectID(cfg.Dir, cfg.Product)
	switch state {
	case manifestOK:
		return id, ReasonEnabled, false
	case manifestMissing:
		return "", ReasonNoManifest + " in the project directory", false
	case manifestNoUUID:
		return "", fmt.Sprintf("%s: package.json has no %s.uuid (the project opted out or was not created by %s)", ReasonNoUUID, cfg.Product, cfg.Product), false
	default:
		return "", fmt.Sprintf("%s: %v", ReasonBadManifest, err), false
	}
}

// optOutPath is the user-level opt-out file. It is shared by every product that
// embeds the SDK, like DO_NOT_TRACK: a user who says no says it once.
func optOutPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "abacus", "telemetry-disabled"), nil
}

// Disable records the user-level opt-out: from now on no client of any product
// that embeds this SDK collects or sends anything on this machine for this user,
// and clients delete what they had spooled. Products call it from their
// "telemetry disable" command.
func Disable() (err error) {
	defer recoverInto(&err)
	path, err := optOutPath()
	if err != nil {
		return fmt.Errorf("telemetry: cannot find the user config directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("telemetry: cannot create %q: %w", filepath.Dir(path), err)
	}
	const text = "Telemetry of products using the Abacus SDK is disabled for this user.\nDelete this file, or run the product's \"telemetry enable\" command, to enable it.\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("telemetry: cannot write opt-out file %q: %w", path, err)
	}
	return nil
}

// Enable removes the user-level opt-out written by Disable. It does not override
// DO_NOT_TRACK, <PRODUCT>_TELEMETRY_DISABLED or a project without a uuid.
func Enable() (err error) {
	defer recoverInto(&err)
	path, err := optOutPath()
	if err != nil {
		return fmt.Errorf("telemetry: cannot find the user config directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("telemetry: cannot remove opt-out file %q: %w", path, err)
	}
	return nil
}
