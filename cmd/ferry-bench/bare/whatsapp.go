//go:build !ferry_no_whatsapp

package main

// cmd/ferry links WhatsApp unless built with -tags ferry_no_whatsapp;
// the bare program follows it.
import _ "github.com/ferrybridge/ferry/whatsapp"
