// Package config loads config.yaml, applies environment overrides and
// defaults, validates every key and loads secrets from the environment or a
// file. Only cmd reads configuration.
package config
