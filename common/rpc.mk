# owned by the RPC transport work; sources added as they land
