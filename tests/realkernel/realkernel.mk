# real-kernel acceptance
