package dbmigrate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitSteps(t *testing.T) {
	t.Parallel()
	body := "-- header\nALTER TABLE a ADD b int;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n" +
		StepMarker + "\n-- a comment only\n" + StepMarker + "  \r\n" +
		"CREATE INDEX CONCURRENTLY i ON a (b);\n" + StepMarker + "\n"
	var got []string
	for _, s := range splitSteps([]byte(body)) {
		got = append(got, string(s))
	}
	require.Equal(t, []string{
		"-- header\nALTER TABLE a ADD b int;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\n",
		"CREATE INDEX CONCURRENTLY i ON a (b);\n",
	}, got, "semicolons inside a step stay, comment-only steps go")

	plain := "CREATE TABLE x (y int);\n-- ga4-outbox:stepping is not the marker\n"
	require.Equal(t, [][]byte{[]byte(plain)}, splitSteps([]byte(plain)), "a file without the marker runs in one piece")
}
