package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/revgate/revgate/revocation"
)

// RunTrail checks that the trails newTrail returns follow the
// revocation.Trail contract. newTrail must return an empty trail keeping
// about length events, sharing nothing with any other it returns.
func RunTrail(t *testing.T, newTrail func(t *testing.T, length int) revocation.Trail) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	ev := func(i int, action, actor, sub string) revocation.Event {
		return revocation.Event{Time: at.Add(time.Duration(i) * time.Second), Action: action, Actor: actor, Subject: sub}
	}
	ignoreID := cmpopts.IgnoreFields(revocation.Event{}, "ID")

	t.Run("an empty trail has no events", func(t *testing.T) {
		t.Parallel()
		got, err := newTrail(t, 100).Recent(ctx, revocation.TrailFilter{}, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("Recent = %v, %v; want none", got, err)
		}
	})
	t.Run("every field comes back, newest first", func(t *testing.T) {
		t.Parallel()
		tr := newTrail(t, 100)
		full := revocation.Event{Time: at, Action: "revoke_token", Actor: "oncall", Subject: "alice", JTI: "j-1",
			Session: "s-1", Email: "alice@example.com", Reason: "laptop stolen", Until: at.Add(time.Hour).Truncate(time.Second), Gateway: "gw-a"}
		second := ev(1, "revoke_all", "oncall", "")
		for _, e := range []revocation.Event{full, second} {
			if err := tr.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		got, err := tr.Recent(ctx, revocation.TrailFilter{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]revocation.Event{second, full}, got, ignoreID); diff != "" {
			t.Fatalf("Recent (-want +got):\n%s", diff)
		}
		if got[0].ID == "" || got[0].ID == got[1].ID {
			t.Fatalf("IDs %q, %q: want distinct, set", got[0].ID, got[1].ID)
		}
	})
	t.Run("filters and the limit select events", func(t *testing.T) {
		t.Parallel()
		tr := newTrail(t, 100)
		events := []revocation.Event{
			ev(0, "revoke_subject", "oncall", "alice"),
			ev(1, "revoke_subject", "helpdesk", "bob"),
			ev(2, "unrevoke_subject", "oncall", "alice"),
			{Time: at.Add(3 * time.Second), Action: "revoke_token", Actor: "helpdesk", JTI: "j-9"},
			{Time: at.Add(4 * time.Second), Action: "revoke_session", Actor: "idp", Session: "s-9"},
			ev(5, "revoke_all", "oncall", ""),
			{Time: at.Add(6 * time.Second), Action: "revoke_email", Actor: "ssf:https://idp.example", Email: "bob@example.com"},
		}
		for _, e := range events {
			if err := tr.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			f     revocation.TrailFilter
			limit int
			want  []revocation.Event
		}{
			{"by subject", revocation.TrailFilter{Subject: "alice"}, 10, []revocation.Event{events[2], events[0]}},
			{"by actor", revocation.TrailFilter{Actor: "helpdesk"}, 10, []revocation.Event{events[3], events[1]}},
			{"by subject and actor", revocation.TrailFilter{Subject: "alice", Actor: "helpdesk"}, 10, nil},
			{"by jti", revocation.TrailFilter{JTI: "j-9"}, 10, []revocation.Event{events[3]}},
			{"by session", revocation.TrailFilter{Session: "s-9"}, 10, []revocation.Event{events[4]}},
			{"by email", revocation.TrailFilter{Email: "bob@example.com"}, 10, []revocation.Event{events[6]}},
			{"by another email", revocation.TrailFilter{Email: "alice@example.com"}, 10, nil},
			// An email mark's event names its address: not the global mark's.
			{"the global mark's", revocation.TrailFilter{Global: true}, 10, []revocation.Event{events[5]}},
			{"up to the limit", revocation.TrailFilter{}, 2, []revocation.Event{events[6], events[5]}},
		}
		for _, tt := range tests {
			got, err := tr.Recent(ctx, tt.f, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreID, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
	})
	t.Run("the trail is capped and keeps the newest", func(t *testing.T) {
		t.Parallel()
		const length, appended = 10, 1200
		tr := newTrail(t, length)
		for i := range appended {
			if err := tr.Append(ctx, ev(i, "revoke_subject", "oncall", fmt.Sprint("user-", i))); err != nil {
				t.Fatal(err)
			}
		}
		got, err := tr.Recent(ctx, revocation.TrailFilter{}, appended)
		if err != nil {
			t.Fatal(err)
		}
		// Redis trims approximately (whole stream nodes of 100 entries).
		if len(got) < length || len(got) > length+200 {
			t.Fatalf("trail holds %d events; want about %d", len(got), length)
		}
		if got[0].Subject != fmt.Sprint("user-", appended-1) {
			t.Fatalf("newest event is %q; want user-%d", got[0].Subject, appended-1)
		}
		// Paging past the first page finds old events too.
		old, err := tr.Recent(ctx, revocation.TrailFilter{Subject: got[len(got)-1].Subject}, 1)
		if err != nil || len(old) != 1 {
			t.Fatalf("oldest kept event not found: %v, %v", old, err)
		}
	})
}
