//go:build !ferry_no_whatsapp

package main

import (
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/whatsapp"
)

// withWhatsApp says whether this build bridges WhatsApp.
const withWhatsApp = true

func whatsappConnectors() []network.Connector {
	return []network.Connector{whatsapp.New()}
}
