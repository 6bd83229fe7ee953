# Script part of the websocket package, evaluated by Websocket_Init after
# the commands written in Rust exist: the namespace ensemble, and logging
# through tcllib's logger when it is installed (as tcllib's websocket does),
# else to stderr in logger's format.

namespace eval ::websocket {
    namespace export {[a-z]*}
    namespace ensemble create

    if {![info exists log]} {
        if {![catch {package require logger}]} {
            variable log [::logger::init websocket]
            ${log}::setlevel error
        } else {
            variable log ""
        }
    }

    # Called by the Rust side only for messages at or above the level.
    proc Log {level text} {
        variable log
        if {$log ne ""} {
            ${log}::$level $text
        } else {
            puts stderr "\[[clock format [clock seconds]]\] \[websocket\] \[$level\] '$text'"
        }
    }

    # Keeps logger's own level in step with ours; false if it refuses.
    proc SetLogLevel {level} {
        variable log
        if {$log eq ""} {
            return 1
        }
        return [expr {![catch {${log}::setlevel $level}]}]
    }
}
