package whatsapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A group's room names a member by the phone number its participant list
// shows beside their LID (participantUser), by the LID where it shows none.
// Group changes name members by LID only, so Ferry remembers per group the
// numbers of the list it last handed to the core, and names the ghosts of
// changes from them (groupMemberUser): the same ghosts the room has, and
// never a number that group did not show. whatsmeow's LID store is not
// asked: it also holds numbers learnt privately (contacts, DMs, other
// groups), which would reveal in a shared room a number WhatsApp hides.
// Group info read for other reasons (unbridged.go's community check) is
// not kept, since the room's members were not named from it. The numbers
// are the group's, not a login's: every Ferry user in the room sees them
// already in its ghosts' IDs, so they are kept per group and outlive a
// logout.

// groupNumberStore keeps the numbers per group
// (upgrades/03-group-number.sql). Keys and values are LID and phone-number
// JIDs without device.
type groupNumberStore struct {
	db *dbutil.Database
}

// shownNumbers are the LID -> phone number pairs a group's participant
// list shows: those participantUser names by number.
func shownNumbers(g *types.GroupInfo) map[types.JID]types.JID {
	shown := make(map[types.JID]types.JID)
	for _, p := range g.Participants {
		if p.LID.Server == types.HiddenUserServer && p.PhoneNumber.Server == types.DefaultUserServer {
			shown[p.LID.ToNonAD()] = p.PhoneNumber.ToNonAD()
		}
	}
	return shown
}

// number is the number group showed beside lid; empty when none is kept.
func (s *groupNumberStore) number(ctx context.Context, group, lid types.JID) (types.JID, error) {
	var pn string
	err := s.db.QueryRow(ctx, `SELECT pn FROM whatsapp_group_number WHERE group_jid = $1 AND lid = $2`,
		group.ToNonAD().String(), lid.ToNonAD().String()).Scan(&pn)
	if errors.Is(err, sql.ErrNoRows) {
		return types.EmptyJID, nil
	} else if err != nil {
		return types.EmptyJID, err
	}
	return parseNumber(pn)
}

// all are the pairs kept for group.
func (s *groupNumberStore) all(ctx context.Context, group types.JID) (map[types.JID]types.JID, error) {
	rows, err := s.db.Query(ctx, `SELECT lid, pn FROM whatsapp_group_number WHERE group_jid = $1`, group.ToNonAD().String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kept := make(map[types.JID]types.JID)
	for rows.Next() {
		var lidStr, pnStr string
		if err = rows.Scan(&lidStr, &pnStr); err != nil {
			return nil, err
		}
		lid, err := types.ParseJID(lidStr)
		if err != nil {
			return nil, fmt.Errorf("stored LID %q: %w", lidStr, err)
		}
		if kept[lid], err = parseNumber(pnStr); err != nil {
			return nil, err
		}
	}
	return kept, rows.Err()
}

func parseNumber(pn string) (types.JID, error) {
	jid, err := types.ParseJID(pn)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("stored phone number %q: %w", pn, err)
	}
	return jid, nil
}

// replace makes shown the pairs kept for group: a full participant list
// replaces what an earlier one showed, so a number the group no longer
// shows (or a member no longer in it) is forgotten. Only differences are
// written; a list that changed nothing costs one read.
func (s *groupNumberStore) replace(ctx context.Context, group types.JID, shown map[types.JID]types.JID) error {
	kept, err := s.all(ctx, group)
	if err != nil {
		return fmt.Errorf("read kept numbers: %w", err)
	}
	var put, drop []types.JID
	for lid, pn := range shown {
		if kept[lid] != pn {
			put = append(put, lid)
		}
	}
	for lid := range kept {
		if _, ok := shown[lid]; !ok {
			drop = append(drop, lid)
		}
	}
	if len(put) == 0 && len(drop) == 0 {
		return nil
	}
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for _, lid := range put {
			if err := s.put(ctx, group, lid, shown[lid]); err != nil {
				return err
			}
		}
		for _, lid := range drop {
			if _, err := s.db.Exec(ctx, `DELETE FROM whatsapp_group_number WHERE group_jid = $1 AND lid = $2`,
				group.ToNonAD().String(), lid.String()); err != nil {
				return fmt.Errorf("forget the number of %s: %w", lid, err)
			}
		}
		return nil
	})
}

// put keeps one pair, replacing the number kept for lid in group.
func (s *groupNumberStore) put(ctx context.Context, group, lid, pn types.JID) error {
	_, err := s.db.Exec(ctx, `INSERT INTO whatsapp_group_number (group_jid, lid, pn) VALUES ($1, $2, $3)
		ON CONFLICT (group_jid, lid) DO UPDATE SET pn = excluded.pn`,
		group.ToNonAD().String(), lid.ToNonAD().String(), pn.ToNonAD().String())
	if err != nil {
		return fmt.Errorf("keep the number of %s: %w", lid, err)
	}
	return nil
}

// keepGroupNumbers remembers the numbers of a participant list that is
// handed to the core as the room's members. A list without participants
// is no list (the login is always in it) and changes nothing.
func (c *Client) keepGroupNumbers(ctx context.Context, g *types.GroupInfo) {
	if len(g.Participants) == 0 {
		return
	}
	if err := c.conn.groupNumbers.replace(ctx, g.JID, shownNumbers(g)); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("group", g.JID).Msg("Failed to keep the phone numbers a group shows")
	}
}

// groupShownNumber is the number group showed beside lid when Ferry last
// read its participant list; empty when it showed none or is unknown.
func (c *Client) groupShownNumber(ctx context.Context, group, lid types.JID) types.JID {
	pn, err := c.conn.groupNumbers.number(ctx, group, lid)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("group", group).Stringer("lid", lid).Msg("Failed to read the phone number a group shows")
		return types.EmptyJID
	}
	return pn
}

// newMembers names the people one join adds to a group. A new member's
// number is not kept yet (the notification lists it, but whatsmeow keeps
// it only in its LID store, beside numbers learnt elsewhere), so the
// group's info is asked for, at most once per join, and the numbers it
// shows for the joiners are kept. Only theirs: the rest of that list is
// not handed to the core, so the room's other members keep the ghosts
// (and the kept numbers) of the last list that was.
type newMembers struct {
	c     *Client
	group types.JID
	// shown is what the group's info showed; asked says it was asked for.
	shown map[types.JID]types.JID
	asked bool
}

func (c *Client) newMembers(group types.JID) *newMembers {
	return &newMembers{c: c, group: group}
}

// user is the UserID of a member who joined, as the room's member list
// would name them.
func (n *newMembers) user(ctx context.Context, jid types.JID) network.UserID {
	pn := n.c.groupMemberNumber(ctx, n.group, jid, types.EmptyJID)
	if pn.IsEmpty() && n.c.mayHaveNumber(jid) {
		pn = n.fetchedNumber(ctx, jid)
	}
	return n.c.userFor(ctx, jid, pn, false)
}

// fetchedNumber is the number the group's current info shows beside lid,
// kept for later changes; empty when it shows none.
func (n *newMembers) fetchedNumber(ctx context.Context, lid types.JID) types.JID {
	if !n.asked {
		n.asked = true
		n.shown = n.c.fetchShownNumbers(ctx, n.group)
	}
	pn := n.shown[lid.ToNonAD()]
	if pn.IsEmpty() {
		return types.EmptyJID
	}
	if err := n.c.conn.groupNumbers.put(ctx, n.group, lid, pn); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("group", n.group).Msg("Failed to keep a new member's phone number")
	}
	return pn
}

// fetchShownNumbers asks WhatsApp for group's info and returns the numbers
// it shows; nil when WhatsApp cannot say now. A community's groups are not
// asked about: they get no room, and their announcement group, where every
// member joins, hides the numbers anyway.
func (c *Client) fetchShownNumbers(ctx context.Context, group types.JID) map[types.JID]types.JID {
	if community, ok := c.conn.unbridged.lookup(group); ok && community.is {
		return nil
	}
	wa, err := c.needSession()
	if err != nil {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, infoTimeout)
	g, err := wa.GetGroupInfo(qctx, group)
	cancel()
	if err != nil || g == nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("group", group).Msg("Failed to get group info for a new member's phone number")
		return nil
	}
	c.conn.unbridged.noteGroup(g)
	return shownNumbers(g)
}
