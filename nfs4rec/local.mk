# NFSv4 client tracking (cld pipe, epochs, nfsdcltrack helper).
