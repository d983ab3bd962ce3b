package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// home is the landing page: who is signed in, and the pages they may open.
func (cn *Console) home(c *gin.Context, s *Session) {
	cn.Render(c, s, http.StatusOK, "home", nil)
}
