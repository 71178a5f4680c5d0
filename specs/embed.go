// Package specs holds harpy's release recipes: known HAProxy versions with their sha256,
// how each build feature maps to make flags by version, the patch queues, and the known
// incompatibilities with host libraries. Embedded files are the defaults; a user's TOML
// file adds versions or overrides a release by version, without recompiling.
package specs

import "embed"

//go:embed features.toml targets.toml releases/*.toml patches/*.patch
var files embed.FS
