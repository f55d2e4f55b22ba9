//! (in progress) SSHSIG interop with real ssh-keygen and git.
