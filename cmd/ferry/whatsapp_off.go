//go:build ferry_no_whatsapp

package main

import "github.com/ferrybridge/ferry/bridge/network"

// withWhatsApp says whether this build bridges WhatsApp. Built with
// -tags ferry_no_whatsapp, Ferry bridges IRC only and links none of the
// WhatsApp libraries (whatsmeow, its protobuf schemas, libsignal): about
// half the binary, and about 13 MiB of memory even with no one logged in.
const withWhatsApp = false

func whatsappConnectors() []network.Connector { return nil }
