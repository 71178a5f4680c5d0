// Package profiles turns a profile — embedded TOML (embedded/*.toml) or a user's file
// extending one — into haproxy.cfg, the rsyslog drop-in and the logrotate file, in the
// syntax of the HAProxy version targeted.
//
// Load decodes strictly (unknown keys and wrong types are errors), merges the `extends`
// chain (sections by name, keys one by one, lists whole), applies --set overrides and
// validates every value that can reach the config, reporting file:line:column and the
// field. Render refuses what the target version cannot express instead of writing
// something that means another thing. docs/profiles.md documents the schema.
package profiles
