# owned by the store work; sources added as they land
