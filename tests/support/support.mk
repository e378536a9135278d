# RPC support: lockd emulator, test RPC client, netns runner
